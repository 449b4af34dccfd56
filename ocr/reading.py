"""OCR's page reading as a service: validating a PDF and reading one of its pages, for
OCR's own jobs and for any other app that reads PDFs (retrieval's ingest).

Both hold the engine's one pdfium lock (``ocr.engine.PDFIUM_LOCK``: pdfium is not
thread-safe), so no two threads of a process call pdfium at once, whichever app asked.
The limits are the deployment's (``OCR_MAX_PAGE_PIXELS``, ``OCR_DPI``).
"""

from __future__ import annotations

from django.conf import settings

from ocr import engine
from ocr.engine.pdf import PdfSource


def inspect_pdf(data: bytes, *, max_pages: int) -> engine.PdfInfo:
    """Validate a PDF before anything is stored (no rendering). Raises ``engine.PdfError``."""
    with engine.PDFIUM_LOCK:
        return engine.inspect_pdf(
            data,
            max_pages=max_pages,
            max_page_pixels=settings.OCR_MAX_PAGE_PIXELS,
            dpi=settings.OCR_DPI,
            check_text_layer=False,
        )


def read_page(
    source: PdfSource, page_num: int, *, dpi: int, language: str | None = None
) -> engine.PageResult:
    """Read page ``page_num`` (1-based): its text layer where good, OCR otherwise.
    Raises ``engine.PdfError`` for the file's faults; anything else is transient."""
    with engine.PDFIUM_LOCK:
        return engine.process_page(
            source,
            page_num - 1,
            dpi=dpi,
            max_page_pixels=settings.OCR_MAX_PAGE_PIXELS,
            language=language,
        )
