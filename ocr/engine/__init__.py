"""Portico's pure OCR engine for Arabic + English PDFs (no Django imports).

Public API (re-exported here)::

    inspect_pdf(data: bytes, *, max_pages: int, max_page_pixels: int, dpi: int = 300,
                check_text_layer: bool = True) -> PdfInfo
        Cheap validation before queuing (no rendering). Raises PdfError.

    process_page(pdf: bytes | str | os.PathLike, page_index: int, *, dpi: int = 300,
                 use_text_layer: bool = True,
                 max_page_pixels: int = DEFAULT_MAX_PAGE_PIXELS,
                 language: str | None = None) -> PageResult
        Render + (text layer | clean-up, orientation, deskew, OCR, reading order) one
        page (0-based index). ``language``: "ara", "eng", "ara+eng" or None (both).
        Raises PdfError for bad input, ValueError for dpi outside 72..600 or an unknown
        language.

    build_searchable_pdf(original: bytes, pages: Sequence[TextLayerPage | None]) -> bytes
    text_layer_page(result: PageResult) -> TextLayerPage | None
        The original PDF with an invisible, selectable text layer on each OCR'd page.

    cer(reference: str, hypothesis: str) -> float
        Character error rate (see ocr.engine.metrics).

    latin_digits(text: str) -> str
        Every digit as 0-9 and ٫ ٬ ٪ as . , % (the API's ``?digits=latin``); the engine
        itself returns numbers in the digits they were printed in.

    PdfError(code: str, message: str, *, page: int | None = None)
        ``code`` in PDF_ERROR_CODES: not_pdf, corrupt, encrypted, no_pages,
        too_many_pages, page_too_small, page_too_large, page_out_of_range, render_failed,
        stream_too_large, decompression_bomb (limits: ocr.engine.limits).

    PdfInfo(page_count, encrypted, has_text_layer, page_sizes_pt, pdf_version)
    PageResult(page_num, text, segments, num_segments, language, skew_angle, rotation,
               path, elapsed, width, height, image_png, thumbnail_png, timings,
               lines, words, preprocessing)
    Segment(kind, bbox, text, confidence, block)

Modules: pdf (open/validate/render), limits (decompression limits, with pdfreader and
pdfsyntax: a bounded reader of raw PDF), page (pipeline), preprocess (clean-up chosen per
page), geometry (deskew), tesseract (OCR, OSD, instance cache, missed regions, garbage
control), numbers (number regions re-read with the digit model), bidi (logical order of
a line's words), lines (words, lines, garbage control, segments), layout (reading order),
oldtext (a page's own text removed under Portico's layer), searchable (text-layer PDFs), textlayer, text
(normalisation, language), metrics, results, errors.

Concurrency: pdfium and Tesseract are not thread-safe. Callers hold ``PDFIUM_LOCK`` (one
per process) around ``inspect_pdf`` and ``process_page``. The module keeps one Tesseract
instance per process (created lazily, reused, guarded by a lock); run pages in parallel
with processes, one per core (``OMP_THREAD_LIMIT=1`` is harmless; see tesseract.py).
"""

from __future__ import annotations

from .availability import engine_problem
from .errors import PDF_ERROR_CODES, PdfError
from .metrics import cer
from .page import process_page
from .pdf import DEFAULT_MAX_PAGE_PIXELS, PDFIUM_LOCK, PdfInfo, inspect_pdf
from .results import PageResult, Segment
from .searchable import TextLayerPage, build_searchable_pdf, text_layer_page
from .text import latin_digits

__all__ = [
    "DEFAULT_MAX_PAGE_PIXELS",
    "PDFIUM_LOCK",
    "PDF_ERROR_CODES",
    "PageResult",
    "PdfError",
    "PdfInfo",
    "Segment",
    "TextLayerPage",
    "build_searchable_pdf",
    "cer",
    "engine_problem",
    "inspect_pdf",
    "latin_digits",
    "process_page",
    "text_layer_page",
]
