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
2. clean-up chosen per page from measurements (:mod:`ocr.engine.preprocess`); pages with
   small print are read at twice the size;
3. orientation (``rotation``, applied losslessly), kept cheap for upright pages:
   if the text lines run vertically (ink-profile check, ~20 ms), Tesseract OSD on a
   150 dpi copy picks 90 or 270 before OCR. Otherwise the page is read upright, and
   only if that reading is poor (mean confidence < 75) OSD is asked (~0.2 s) and a
   180-degree turn it reports is read too. Without a confident OSD answer (sparse page,
   or no ``osd.traineddata``) the alternatives are tried blind. The most confident
   reading wins;
4. deskew: projection-profile search (``skew_angle``; see :mod:`ocr.engine.geometry`),
   measured on the cleaned page; the page image is turned the same way;
5. OCR of the cleaned page with the process-wide Tesseract instance for ``language``
   (``ara+eng`` by default), missed regions re-read, garbage dropped, reading order
   rebuilt (:mod:`ocr.engine.tesseract`, :mod:`ocr.engine.layout`); an Arabic-only page
   read with middling confidence is read again with the Arabic model;
6. PNG of the final image (fast zlib level) and a ~200 px wide thumbnail.

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

from . import geometry, layout, preprocess, tesseract
from .errors import PdfError
from .pdf import DEFAULT_MAX_PAGE_PIXELS, PdfSource, check_page, open_pdf, render_page
from .results import PageResult, Segment
from .text import ARABIC_LETTER_RE, LATIN_LETTER_RE, detect_language
from .textlayer import extract_text, text_layer_is_good, text_layer_segments

THUMBNAIL_WIDTH = 200
MIN_DPI, MAX_DPI = 72, 600
FALLBACK_CONFIDENCE = 75.0  # mean OCR confidence below which orientation is retried
FALLBACK_MARGIN = 10.0  # a retry must beat the first read by this much to be used
ARABIC_ONLY_BELOW_CONF = 88.0  # clean Arabic pages read at 90-92, hard ones at 79-85
ARABIC_ONLY_MIN_LETTERS = 50
ARABIC_ONLY_LATIN_SHARE = 0.05  # Latin junk on a hard Arabic page reached 3.7%
SMALL_PRINT_PX = 20  # median character height (pixels) under which a page is read at 2x
PNG_COMPRESSION = 3  # zlib level; with the RLE strategy higher levels gain nothing


def encode_png(gray: np.ndarray, compression: int = PNG_COMPRESSION) -> bytes:
    """PNG bytes of ``gray``. zlib's RLE strategy suits scanned pages: on this machine it
    was as small as level 6 and 2-6x faster (noisy scans: 0.16 s vs 1.0 s for A4 @300).
    """
    params = [
        cv2.IMWRITE_PNG_COMPRESSION,
        compression,
        cv2.IMWRITE_PNG_STRATEGY,
        cv2.IMWRITE_PNG_STRATEGY_RLE,
    ]
    ok, buf = cv2.imencode(".png", gray, params)
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
    language: str | None = None,
) -> PageResult:
    """Render and recognise one page. See the module docstring for the pipeline."""
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise ValueError(f"dpi must be between {MIN_DPI} and {MAX_DPI}, not {dpi}")
    if language is not None and language not in tesseract.LANGUAGES:
        raise ValueError(f"language must be one of {sorted(tesseract.LANGUAGES)} or None")
    started = time.perf_counter()
    timings: dict[str, float] = {}
    gray, layer = _render(pdf, page_index, dpi, use_text_layer, max_page_pixels, timings)
    if layer is not None:
        text, segments = layer
        read = _Recognised(gray, 0, 0.0, text, segments, 100.0, _layer_lines(segments), [])
        return _finish(page_index, read, "text_layer", [], started, timings)

    t0 = time.perf_counter()
    cleaned, stats, steps = preprocess.clean(gray, dpi)
    timings["preprocess"] = time.perf_counter() - t0
    upscale = 1.0
    if 0 < stats.char_height < SMALL_PRINT_PX:
        upscale = 2.0  # small print, or a low render dpi: Tesseract reads it enlarged
        steps.append("upscale")
    best = _orient_and_read(gray, cleaned, dpi, language, upscale, timings)
    if language is None and _unsure_arabic_only(best):
        # The bilingual model misreads hard Arabic (noise, photos, Amiri) more often than
        # the Arabic one: on the bench's Arabic kinds read below this confidence, the
        # Arabic model cut CER (photo 5.1% -> 2.6%, Amiri 5.0% -> 3.6%) and never raised it.
        t0 = time.perf_counter()
        best = _recognise(gray, cleaned, best.rotation, dpi, "ara", upscale, {})
        timings["arabic_reread"] = time.perf_counter() - t0
    return _finish(page_index, best, "ocr", steps, started, timings)


def _render(
    pdf: PdfSource,
    page_index: int,
    dpi: int,
    use_text_layer: bool,
    max_page_pixels: int,
    timings: dict[str, float],
) -> tuple[np.ndarray, tuple[str, list[Segment]] | None]:
    """The page rendered grey, and its text layer's text and segments when that layer is
    good enough to use instead of OCR (else ``None``)."""
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
                return gray, _usable_text_layer(page, bitmap, timings) if use_text_layer else None
            finally:
                bitmap.close()
        finally:
            page.close()
    finally:
        doc.close()


def _usable_text_layer(page, bitmap, timings: dict[str, float]) -> tuple[str, list] | None:
    try:
        if not text_layer_is_good(extract_text(page)):
            return None
    except Exception:
        return None
    t0 = time.perf_counter()
    try:
        text, segments = text_layer_segments(page, bitmap)
    except Exception:  # odd text geometry: OCR the page instead
        return None
    finally:
        timings["text_layer"] = time.perf_counter() - t0
    return (text, segments) if segments else None


def _unsure_arabic_only(read: _Recognised) -> bool:
    """An Arabic page (no Latin beyond stray letters) read with middling confidence."""
    arabic = len(ARABIC_LETTER_RE.findall(read.text))
    latin = len(LATIN_LETTER_RE.findall(read.text))
    return (
        arabic >= ARABIC_ONLY_MIN_LETTERS
        and latin <= ARABIC_ONLY_LATIN_SHARE * (arabic + latin)
        and read.confidence < ARABIC_ONLY_BELOW_CONF
    )


def _layer_lines(segments: list[Segment]) -> list[dict]:
    """Line dicts (as :func:`ocr.engine.tesseract.word_data` makes) for text-layer lines."""
    return [
        {
            "text": s.text,
            "bbox": list(s.bbox),
            "confidence": s.confidence,
            "block": s.block,
            "direction": "rtl" if layout.text_is_rtl(s.text) else "ltr",
        }
        for s in segments
        if s.kind == "line"
    ]


def _orient_and_read(
    gray: np.ndarray,
    cleaned: np.ndarray,
    dpi: int,
    language: str | None,
    upscale: float,
    timings: dict[str, float],
) -> _Recognised:
    """Pick the orientation (cheaply for upright pages), deskew and OCR.

    Orientation and skew are measured on ``cleaned`` (the preprocessed page), which is
    what Tesseract reads; ``gray`` is turned the same way for the page image.

    Upright pages cost one OCR pass and no OSD. OSD runs first only when the text lines
    look vertical, and otherwise only after a poor first reading (confidence below
    :data:`FALLBACK_CONFIDENCE`): a different OSD answer is then tried, or, when OSD
    cannot decide, the plausible alternatives, and the most confident reading wins.
    """
    t0 = time.perf_counter()
    vertical = geometry.lines_look_vertical(cleaned)
    osd = tesseract.detect_orientation(cleaned, dpi) if vertical else None
    timings["orientation"] = time.perf_counter() - t0
    first = osd if osd is not None else (90 if vertical else 0)
    best = _recognise(gray, cleaned, first, dpi, language, upscale, timings)
    if best.confidence >= FALLBACK_CONFIDENCE or not best.segments:
        return best  # a confident reading, or nothing to read (blank page)

    t0 = time.perf_counter()
    if not vertical:
        osd = tesseract.detect_orientation(cleaned, dpi)
    if osd is None:  # OSD unsure or unavailable: try the alternatives blind
        candidates = [r for r in ((90, 270) if vertical else (180,)) if r != first]
        margin = FALLBACK_MARGIN
    else:  # OSD decided; re-read only if it disagrees with the first guess
        candidates = [osd] if osd != first else []
        margin = 0.0
    for rotation in candidates:
        attempt = _recognise(gray, cleaned, rotation, dpi, language, upscale, {})
        if attempt.confidence > best.confidence + margin:
            best = attempt
    timings["orientation_retry"] = time.perf_counter() - t0
    return best


@dataclass(slots=True)
class _Recognised:
    image: np.ndarray
    rotation: int
    skew_angle: float
    text: str
    segments: list[Segment]
    confidence: float
    lines: list[dict]
    words: list[dict]


def _recognise(
    gray: np.ndarray,
    cleaned: np.ndarray,
    rotation: int,
    dpi: int,
    language: str | None,
    upscale: float,
    timings: dict[str, float],
) -> _Recognised:
    """Rotate by ``rotation`` (ccw quarter turns), deskew, OCR the cleaned page."""
    t0 = time.perf_counter()
    same = cleaned is gray
    cleaned = geometry.rotate_quarter(cleaned, rotation)
    skew_angle = geometry.detect_skew(cleaned)
    if abs(skew_angle) < geometry.CORRECTION_THRESHOLD:
        skew_angle = 0.0
    else:
        cleaned = geometry.rotate(cleaned, -skew_angle)
    if same:
        image = cleaned
    else:
        image = geometry.rotate_quarter(gray, rotation)
        if skew_angle:
            image = geometry.rotate(image, -skew_angle)
    timings["deskew"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    text, segments, confidence, lines, words = tesseract.ocr_image(
        cleaned, dpi, language=language, upscale=upscale
    )
    timings["ocr"] = time.perf_counter() - t0
    return _Recognised(image, rotation, skew_angle, text, segments, confidence, lines, words)


def _finish(
    page_index: int,
    read: _Recognised,
    path: str,
    steps: list[str],
    started: float,
    timings: dict[str, float],
) -> PageResult:
    t0 = time.perf_counter()
    image_png = encode_png(read.image)
    thumbnail_png = make_thumbnail(read.image)
    timings["encode"] = time.perf_counter() - t0
    height, width = read.image.shape[:2]
    return PageResult(
        page_num=page_index + 1,
        text=read.text,
        segments=read.segments,
        num_segments=sum(s.kind == "line" for s in read.segments),
        language=detect_language(read.text),
        skew_angle=read.skew_angle,
        rotation=read.rotation,
        path=path,  # type: ignore[arg-type]
        elapsed=time.perf_counter() - started,
        width=width,
        height=height,
        image_png=image_png,
        thumbnail_png=thumbnail_png,
        timings=timings,
        lines=read.lines,
        words=read.words,
        preprocessing=steps,
    )
