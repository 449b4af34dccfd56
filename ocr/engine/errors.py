"""Errors raised by the OCR engine.

``PdfError(code, message)`` is the only exception the public API raises for bad input.
``code`` is a stable machine-readable string (see :data:`PDF_ERROR_CODES`); ``message``
is a human sentence suitable for showing to the uploader.
"""

from __future__ import annotations

PDF_ERROR_CODES: frozenset[str] = frozenset(
    {
        "not_pdf",  # no %PDF- header in the first 1024 bytes
        "corrupt",  # pdfium cannot parse the file (truncated, damaged)
        "encrypted",  # password protected (or an unsupported security handler)
        "no_pages",  # the document has zero pages
        "too_many_pages",  # more pages than the caller's cap
        "page_too_small",  # a page is too small to hold legible text
        "page_too_large",  # rendering (or an embedded image) would exceed the pixel cap
        "page_out_of_range",  # process_page() asked for a page that does not exist
        "render_failed",  # pdfium failed while rendering or loading a page
        "stream_too_large",  # one stream decodes to more than the limit (see limits.py)
        "decompression_bomb",  # a page's content, or the document, decodes to too much
        "too_complex",  # more objects and values than the limits checker will read
    }
)


class PdfError(Exception):
    """A PDF that cannot (or must not) be processed.

    Attributes:
        code: one of :data:`PDF_ERROR_CODES`.
        message: a human readable explanation.
        page: 1-based page number the problem was found on, if page specific.
    """

    def __init__(self, code: str, message: str, *, page: int | None = None) -> None:
        if code not in PDF_ERROR_CODES:
            raise ValueError(f"unknown PdfError code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.page = page

    def __repr__(self) -> str:
        return f"PdfError(code={self.code!r}, message={self.message!r})"

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "page": self.page}
