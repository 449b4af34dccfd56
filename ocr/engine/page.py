"""Per-page pipeline: render -> (text layer | orientation -> deskew -> OCR) -> images.

Public API::

    process_page(pdf: bytes | str | os.PathLike, page_index: int, *, dpi: int = 300,
                 use_text_layer: bool = True,
                 max_page_pixels: int = DEFAULT_MAX_PAGE_PIXELS) -> PageResult

``page_index`` is 0-based; ``PageResult.page_num`` is 1-based. Raises
:class:`~ocr.engine.errors.PdfError` for unusable input (the same codes as
``inspect_pdf``, plus ``page_out_of_range`` and ``render_failed``). The page is
re-validated (page box and declared image sizes) before rendering, so a decompression
bomb is rejected even if ``inspect_pdf`` was skipped.

Steps for the OCR path:

1. render with pdfium at ``dpi`` to 8-bit grayscale;
2. orientation: Tesseract OSD on a 150 dpi copy; a confident 90/180/270 answer is
   applied losslessly (``rotation``). When OSD cannot decide (sparse page, or no
   ``osd.traineddata``) and the OCR result of step 4 is poor (mean confidence < 75),
   180 degrees (or 90/270 when the text lines run vertically) is tried as well and the
   most confident reading wins;
3. deskew: projection-profile search (``skew_angle``; see :mod:`ocr.engine.geometry`);
4. OCR with the process-wide ``ara+eng`` Tesseract instance; blocks and lines with
   boxes in the final image's coordinates;
5. PNG of the final image (fast zlib level) and a ~200 px wide thumbnail.

The text-layer path (page has a trustworthy embedded text layer and
``use_text_layer``) skips 2-4: the image is the plain render, ``rotation`` and
``skew_angle`` are 0 and segment boxes come from pdfium's text rectangles.

Not thread-safe (pdfium and Tesseract); Tesseract calls are serialised by a lock.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from . import geometry, tesseract
from .errors import PdfError
from .pdf import DEFAULT_MAX_PAGE_PIXELS, PdfSource, check_page, open_pdf, render_page
from .text import detect_language
from .textlayer import extract_text, text_layer_is_good, text_layer_segments
from .types import PageResult, Segment

THUMBNAIL_WIDTH = 200
FALLBACK_CONFIDENCE = 75.0  # mean OCR confidence below which orientation is retried
FALLBACK_MARGIN = 10.0  # a retry must beat the first read by this much to be used
PNG_COMPRESSION = 3  # zlib level: ~3x faster than the default 6 for ~5% larger files


def encode_png(gray: np.ndarray, compression: int = PNG_COMPRESSION) -> bytes:
    ok, buf = cv2.imencode(".png", gray, [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:  # pragma: no cover - cv2 only fails on invalid arrays
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def make_thumbnail(gray: np.ndarray, width: int = THUMBNAIL_WIDTH) -> bytes:
    """PNG of ``gray`` scaled (LANCZOS) to ``width`` px wide, aspect ratio kept."""
    image = Image.fromarray(gray, mode="L")
    height = max(1, round(image.height * width / image.width))
    image.thumbnail((width, height), Image.Resampling.LANCZOS)
    return encode_png(np.asarray(image), 6)


def process_page(
    pdf: PdfSource,
    page_index: int,
    *,
    dpi: int = 300,
    use_text_layer: bool = True,
    max_page_pixels: int = DEFAULT_MAX_PAGE_PIXELS,
) -> PageResult:
    """Render and recognise one page. See the module docstring for the pipeline."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    doc = open_pdf(pdf)
    try:
        count = len(doc)
        if not 0 <= page_index < count:
            raise PdfError(
                "page_out_of_range",
                f"Page {page_index + 1} does not exist (the document has {count} pages).",
            )
        with contextlib.suppress(Exception):  # forms are a nicety; render without them
            doc.init_forms()
        try:
            page = doc[page_index]
        except Exception:
            number = page_index + 1
            raise PdfError("corrupt", f"Page {number} is damaged.", page=number) from None
        try:
            check_page(doc, page_index, dpi=dpi, max_page_pixels=max_page_pixels, page=page)
            t0 = time.perf_counter()
            gray, bitmap = render_page(page, dpi)
            timings["render"] = time.perf_counter() - t0
            try:
                layer_ok = False
                if use_text_layer:
                    try:
                        layer_ok = text_layer_is_good(extract_text(page))
                    except Exception:
                        layer_ok = False
                if layer_ok:
                    t0 = time.perf_counter()
                    text, segments = text_layer_segments(page, bitmap)
                    timings["text_layer"] = time.perf_counter() - t0
            finally:
                bitmap.close()
        finally:
            page.close()
    finally:
        doc.close()

    if layer_ok:
        return _finish(page_index, gray, text, segments, 0.0, 0, "text_layer", started, timings)

    t0 = time.perf_counter()
    osd_rotation = tesseract.detect_orientation(gray, dpi)
    timings["orientation"] = time.perf_counter() - t0
    best = _recognise(gray, osd_rotation or 0, dpi, timings)
    if osd_rotation is None and best.confidence < FALLBACK_CONFIDENCE:
        # OSD could not decide (little text, or no osd.traineddata) and the result looks
        # poor: try the other plausible orientations and keep the most confident read.
        t0 = time.perf_counter()
        candidates = (90, 270) if geometry.lines_look_vertical(gray) else (180,)
        for rotation in candidates:
            attempt = _recognise(gray, rotation, dpi, {})
            if attempt.confidence > best.confidence + FALLBACK_MARGIN:
                best = attempt
        timings["orientation_fallback"] = time.perf_counter() - t0
    return _finish(
        page_index,
        best.image,
        best.text,
        best.segments,
        best.skew_angle,
        best.rotation,
        "ocr",
        started,
        timings,
    )


@dataclass(slots=True)
class _Recognised:
    image: np.ndarray
    rotation: int
    skew_angle: float
    text: str
    segments: list[Segment]
    confidence: float


def _recognise(gray: np.ndarray, rotation: int, dpi: int, timings: dict[str, float]) -> _Recognised:
    """Rotate by ``rotation`` (ccw quarter turns), deskew, OCR."""
    t0 = time.perf_counter()
    image = geometry.rotate_quarter(gray, rotation)
    image, skew_angle = geometry.deskew(image)
    timings["deskew"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    text, segments, confidence = tesseract.ocr_image(image, dpi)
    timings["ocr"] = time.perf_counter() - t0
    return _Recognised(image, rotation, skew_angle, text, segments, confidence)


def _finish(
    page_index: int,
    gray: np.ndarray,
    text: str,
    segments: list[Segment],
    skew_angle: float,
    rotation: int,
    path: str,
    started: float,
    timings: dict[str, float],
) -> PageResult:
    t0 = time.perf_counter()
    image_png = encode_png(gray)
    thumbnail_png = make_thumbnail(gray)
    timings["encode"] = time.perf_counter() - t0
    height, width = gray.shape[:2]
    return PageResult(
        page_num=page_index + 1,
        text=text,
        segments=segments,
        num_segments=sum(s.kind == "line" for s in segments),
        language=detect_language(text),
        skew_angle=skew_angle,
        rotation=rotation,
        path=path,  # type: ignore[arg-type]
        elapsed=time.perf_counter() - started,
        width=width,
        height=height,
        image_png=image_png,
        thumbnail_png=thumbnail_png,
        timings=timings,
    )
