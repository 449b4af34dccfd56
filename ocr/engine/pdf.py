"""PDF opening, cheap validation and page rendering (pypdfium2).

Public API::

    inspect_pdf(data: bytes, *, max_pages: int, max_page_pixels: int, dpi: int = 300,
                check_text_layer: bool = True) -> PdfInfo

Validates an upload *before* it is queued, without rendering anything. Raises
:class:`~ocr.engine.errors.PdfError` with one of the codes ``not_pdf``, ``corrupt``,
``encrypted``, ``no_pages``, ``too_many_pages``, ``page_too_small``, ``page_too_large``,
``stream_too_large`` or ``decompression_bomb``. pdfium errors are always wrapped, so
hostile input never escapes as anything else.

Bounded input: :func:`open_pdf` (used by ``inspect_pdf`` in the web process and by
``process_page`` in the worker) first checks every stream's decoded size and every page's
decoded content with :mod:`ocr.engine.limits`, before pdfium parses anything, because
pdfium inflates streams whole. :func:`check_page` then bounds what rendering costs: the
page's pixels and the declared decoded size of the images it draws (pdfium decodes an
image up to its declared size, never further).

Internal helpers used by :mod:`ocr.engine.page`: :func:`open_pdf`, :func:`check_page`
and :func:`render_page`.

pdfium (and so this module) is not thread-safe: use one document per thread at most, or
better, processes (Celery prefork workers).
"""

from __future__ import annotations

import math
import os
import re
import threading
from dataclasses import dataclass, field

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from . import limits as _limits
from .errors import PdfError
from .textlayer import extract_text, text_layer_is_good

PDF_MAGIC = b"%PDF-"
MAGIC_WINDOW = 1024
MIN_PAGE_PT = 36.0  # 0.5 inch: nothing legible fits on a smaller page
MAX_PAGE_PT = 14400.0  # 200 inches, the largest page the PDF 1.7 spec allows
MIN_RENDER_PX = 32  # smallest side, in pixels at the render dpi
DEFAULT_MAX_PAGE_PIXELS = 150_000_000  # A0 at 300 dpi is ~140 MP

PdfSource = bytes | str | os.PathLike[str]

# pdfium is not thread-safe: every caller in a process (an upload's validation, a page's
# reading; OCR's and retrieval's alike) holds this one lock around its pdfium calls.
PDFIUM_LOCK = threading.RLock()


@dataclass(frozen=True, slots=True)
class PdfInfo:
    """Result of :func:`inspect_pdf`.

    ``encrypted`` is True only for PDFs that open without a password but carry a security
    handler (owner-password "permissions" encryption); user-password protected files are
    rejected with ``PdfError("encrypted")``. ``has_text_layer[i]`` is True when page
    ``i`` has a text layer good enough for :func:`~ocr.engine.process_page` to use instead
    of OCR (always False when ``check_text_layer=False``).
    """

    page_count: int
    encrypted: bool
    has_text_layer: list[bool] = field(default_factory=list)
    page_sizes_pt: list[tuple[float, float]] = field(default_factory=list)
    pdf_version: int | None = None


def _head(source: PdfSource, size: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source[:size])
    with open(source, "rb") as fh:
        return fh.read(size)


def _looks_pageless(source: PdfSource) -> bool:
    """pdfium refuses page-less documents with a generic format error; tell them apart."""
    data = _head(source, 8 * 1024 * 1024)
    return bool(
        re.search(rb"/Type\s*/Pages\b", data)
        and re.search(rb"/Count\s+0\b", data)
        and not re.search(rb"/Type\s*/Page\b", data)
    )


def _has_encrypt(source: PdfSource) -> bool:
    """An /Encrypt entry sits in the (never encrypted) trailer or xref-stream dictionary."""
    return b"/Encrypt" in _head(source, 64 * 1024 * 1024)


def open_pdf(source: PdfSource) -> pdfium.PdfDocument:
    """Open ``source`` (bytes or a filesystem path) or raise a :class:`PdfError`.

    Checks the ``%PDF-`` magic within the first 1024 bytes, then the decoded size of its
    streams and pages' content (:func:`ocr.engine.limits.checked_scan`, remembered for
    the last few files), then maps pdfium's load errors to ``encrypted`` / ``no_pages`` /
    ``corrupt``. ``OSError`` for unreadable paths propagates unchanged (that is a storage
    problem, not a bad upload).
    """
    if PDF_MAGIC not in _head(source, MAGIC_WINDOW):
        raise PdfError("not_pdf", "This file is not a PDF (no %PDF- header was found).")
    _limits.checked_scan(source)
    try:
        return pdfium.PdfDocument(
            bytes(source) if isinstance(source, bytearray | memoryview) else source
        )
    except pdfium.PdfiumError as exc:
        # pdfium's error code is process-global and not always reset, so confirm it
        # against the file itself before trusting it.
        err = getattr(exc, "err_code", None)
        if _looks_pageless(source):
            raise PdfError("no_pages", "This PDF has no pages.") from None
        if err in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY) and _has_encrypt(source):
            raise PdfError(
                "encrypted",
                "This PDF is password protected. Remove the password and upload it again.",
            ) from None
        raise PdfError(
            "corrupt", "This PDF is damaged or truncated and cannot be opened."
        ) from None
    except (OSError, PdfError):
        raise
    except Exception:
        raise PdfError("corrupt", "This PDF is damaged and cannot be opened.") from None


def check_page(
    doc: pdfium.PdfDocument,
    index: int,
    *,
    dpi: int,
    max_page_pixels: int,
    page: pdfium.PdfPage | None = None,
) -> tuple[float, float]:
    """Reject absurd page boxes and pages too costly to render; return the size in points.

    Uses only the page box and, when ``page`` is given, the *declared* pixel size and
    decoded bytes of the embedded images (their streams are not decoded). Decoded stream
    sizes were checked by :func:`open_pdf` before pdfium parsed the page.
    """
    number = index + 1
    try:
        width, height = doc.get_page_size(index)
    except Exception:
        raise PdfError("corrupt", f"Page {number} is damaged.", page=number) from None
    if not (math.isfinite(width) and math.isfinite(height)) or max(width, height) > MAX_PAGE_PT:
        raise PdfError(
            "page_too_large",
            f"Page {number} is absurdly large ({width:g} x {height:g} pt); "
            f"the limit is {MAX_PAGE_PT / 72:g} inches per side.",
            page=number,
        )
    scale = dpi / 72.0
    if min(width, height) < MIN_PAGE_PT or min(width, height) * scale < MIN_RENDER_PX:
        raise PdfError(
            "page_too_small",
            f"Page {number} is too small to contain legible text "
            f"({width:g} x {height:g} pt; at least {MIN_PAGE_PT / 72:g} inch per side).",
            page=number,
        )
    pixels = round(width * scale) * round(height * scale)
    if pixels > max_page_pixels:
        raise PdfError(
            "page_too_large",
            f"Page {number} is too large to process: {width / 72:.1f} x {height / 72:.1f} "
            f"inches would be {pixels / 1e6:.0f} megapixels at {dpi} dpi "
            f"(limit {max_page_pixels / 1e6:.0f}).",
            page=number,
        )
    if page is not None:
        _check_images(page, number, max_page_pixels)
    return float(width), float(height)


def _check_images(page: pdfium.PdfPage, number: int, max_pixels: int) -> None:
    """Reject images whose declared size would decode to more than ``max_pixels``, and
    pages whose images together would decode to more than the page image limit."""
    try:
        images = list(page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=8))
    except Exception:
        raise PdfError("corrupt", f"Page {number} is damaged.", page=number) from None
    max_bytes = _limits.current_limits().max_page_image_bytes
    total = 0
    for image in images:
        try:
            w, h = image.get_px_size()
        except Exception:
            continue
        if w * h > max_pixels:
            raise PdfError(
                "page_too_large",
                f"Page {number} embeds a {w} x {h} pixel image "
                f"({w * h / 1e6:.0f} megapixels; limit {max_pixels / 1e6:.0f}).",
                page=number,
            )
        total += w * h * _bytes_per_pixel(image)
        if total > max_bytes:
            raise PdfError(
                "page_too_large",
                f"Page {number}'s images would decode to more than "
                f"{max_bytes / _limits.MiB:g} MB (the last one is {w} x {h} pixels), "
                f"the limit per page.",
                page=number,
            )


def _bytes_per_pixel(image: pdfium.PdfImage) -> float:
    """pdfium's decoded bytes per pixel (4 when it cannot say: CMYK, or RGB + alpha)."""
    try:
        bits = image.get_metadata().bits_per_pixel
    except Exception:
        bits = 0
    return bits / 8 if 0 < bits <= 64 else 4.0


def _load_page(doc: pdfium.PdfDocument, index: int) -> pdfium.PdfPage:
    try:
        return doc[index]
    except Exception:
        number = index + 1
        raise PdfError("corrupt", f"Page {number} is damaged.", page=number) from None


def inspect_pdf(
    data: bytes,
    *,
    max_pages: int,
    max_page_pixels: int,
    dpi: int = 300,
    check_text_layer: bool = True,
) -> PdfInfo:
    """Validate a PDF cheaply (no rendering) and describe it.

    Args:
        data: the uploaded file.
        max_pages: reject documents with more pages than this (``too_many_pages``).
        max_page_pixels: reject pages whose render at ``dpi`` (or any embedded image)
            would exceed this many pixels (``page_too_large``).
        dpi: the resolution pages will be rendered at by ``process_page``.
        check_text_layer: also fill ``has_text_layer`` (parses each page's content).

    Raises:
        PdfError: see the module docstring for the codes.
    """
    doc = open_pdf(data)
    try:
        try:
            count = len(doc)
        except Exception:
            raise PdfError("corrupt", "This PDF's page tree is damaged.") from None
        if count <= 0:
            raise PdfError("no_pages", "This PDF has no pages.")
        if count > max_pages:
            raise PdfError(
                "too_many_pages",
                f"This PDF has {count} pages; the limit is {max_pages} pages per document.",
            )
        try:
            security = pdfium_c.FPDF_GetSecurityHandlerRevision(doc)
            version = doc.get_version()
        except Exception:
            security, version = -1, None
        sizes = [check_page(doc, i, dpi=dpi, max_page_pixels=max_page_pixels) for i in range(count)]
        has_text: list[bool] = []
        for index in range(count):
            page = _load_page(doc, index)
            try:
                _check_images(page, index + 1, max_page_pixels)
                good = False
                if check_text_layer:
                    try:
                        good = text_layer_is_good(extract_text(page))
                    except Exception:
                        good = False
                has_text.append(good)
            finally:
                page.close()
        return PdfInfo(
            page_count=count,
            encrypted=security != -1,
            has_text_layer=has_text,
            page_sizes_pt=sizes,
            pdf_version=version,
        )
    finally:
        doc.close()


def render_page(page: pdfium.PdfPage, dpi: int) -> tuple[np.ndarray, pdfium.PdfBitmap]:
    """Render ``page`` at ``dpi`` to an 8-bit grayscale array (white background).

    Returns the array (a copy, C-contiguous, shape ``(h, w)``) and the pdfium bitmap (for
    coordinate conversion of text-layer boxes; close it when done).
    """
    try:
        bitmap = page.render(scale=dpi / 72.0, grayscale=True, may_draw_forms=True)
        array = bitmap.to_numpy()
    except Exception as exc:
        raise PdfError("render_failed", f"The page could not be rendered ({exc}).") from None
    if array.ndim == 3:
        array = array[:, :, 0]
    return np.ascontiguousarray(array, dtype=np.uint8).copy(), bitmap
