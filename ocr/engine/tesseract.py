"""Tesseract (tesserocr) access: one cached API instance per process, OCR and OSD.

* :func:`get_api` returns the process-wide ``PyTessBaseAPI`` for ``ara+eng``
  (LSTM only, ``PSM.AUTO``), created lazily on first use and reused by every call.
  Loading the models costs ~0.3 s, so creating one per page would be wasteful.
* A second cached instance (``osd``, legacy engine, ``PSM.OSD_ONLY``) serves orientation
  detection when ``osd.traineddata`` is installed, and a third (``ara`` only,
  ``PSM.SINGLE_LINE``) is created on demand to re-read the rare Arabic words that the
  bilingual model misreads as Latin junk (see :func:`_repair_latin_runs`).
* Created on demand too: ``ocr:ara`` / ``ocr:eng`` (``PSM.AUTO``) for pages read in one
  language, and ``line:<lang>`` (``PSM.SINGLE_BLOCK``) to re-read regions of ink that no
  recognised line covers (:func:`missed_regions`).

* ``number:eastern`` / ``number:western`` (Portico's digit model,
  ``tessdata/digits.traineddata``, each restricted to one digit system) and
  ``number:eng`` (``PSM.SINGLE_LINE``) read number-like words again
  (:mod:`ocr.engine.numbers`).

After recognition, :func:`ocr_image` drops phantom lines, re-reads missed regions,
repairs Latin junk in Arabic lines, re-reads numbers, puts each line's words in logical
order (:mod:`ocr.engine.bidi`), settles the page's Eastern digits (Arabic-Indic or
Persian), drops garbage (:func:`~ocr.engine.lines.drop_garbage`) and hands the lines to
:mod:`ocr.engine.layout` for the reading order. Words, lines, garbage control and the
segments live in :mod:`ocr.engine.lines`.

Tesseract API objects are **not thread-safe**. Every use goes through :data:`LOCK`
(a module-level ``threading.Lock``), so concurrent threads are serialised rather than
corrupting state; use several *processes* (Celery prefork) for parallelism. Instances
are keyed by PID so a forked child never reuses its parent's instance.

Parallelism: run one worker process per core. The libtesseract bundled in the
tesserocr 2.13 wheel is built without OpenMP (no libgomp), so each OCR call uses one
core and ``OMP_THREAD_LIMIT`` makes no difference (measured with
``bench/ocr_engine_bench.py``). Setting ``OMP_THREAD_LIMIT=1`` for workers is still
harmless and matters if tesserocr is ever built against an OpenMP-enabled libtesseract
(such as Debian's), whose threads would otherwise fight over the cores.

The tessdata directory is ``$TESSDATA_PREFIX`` if set, else the first of
:data:`TESSDATA_CANDIDATES` holding ``ara.traineddata``.

Settings that matter for Arabic: ``textord_noise_rejrows=0``. Tesseract's noise filter
rejects text rows with many small blobs, and Arabic dots (i'jam) trip it: whole Arabic
lines silently vanished from the output on some pages (~20% CER) before it was disabled.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from tesserocr import OEM, PSM, PyTessBaseAPI

from . import bidi, layout, numbers
from .lines import (
    ARABIC_LINE_SHARE,
    GARBAGE_CONF,
    Line,
    Word,
    build_segments,
    drop_garbage,
    drop_overlapping_lines,
    mean_conf,
    parse_tsv,
    script_counts,
    union,
    word_data,
)
from .results import BBox, Segment

__all__ = [  # the names tests and the bench reach through this module
    "GARBAGE_CONF",
    "Line",
    "Word",
    "build_segments",
    "drop_garbage",
    "drop_overlapping_lines",
    "ocr_image",
    "parse_tsv",
    "word_data",
]

LANG = "ara+eng"
LANGUAGES = frozenset({"ara", "eng", LANG})
TESSDATA_CANDIDATES = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)
OCR_VARIABLES = {
    "textord_noise_rejrows": "0",  # keep Arabic rows full of dots (see module doc)
}
OSD_MIN_CONFIDENCE = 2.0  # Tesseract's orient_conf; lower means "don't know"
SUSPICIOUS_LATIN_CONF = 85.0  # Latin words in Arabic lines below this get a second look
ARABIC_REREAD_MIN_CONF = 30.0  # an Arabic re-read this sure beats suspicious Latin
JUNK_LATIN_CONF = 50.0  # Latin this unsure inside Arabic is junk: any Arabic re-read wins
MISSED_PAD = 0.35  # line boxes grow by this share of a line height before looking for misses
MISSED_MIN_CONF = 60.0  # a re-read region less sure than this is noise
MISSED_MIN_INK = 0.06  # share of ink in a missed region's box below which it is specks
MISSED_MAX_REGIONS = 60  # bound the work on pathological pages

LOCK = threading.Lock()
_apis: dict[str, tuple[int, PyTessBaseAPI]] = {}
_created = 0


def tessdata_dir() -> str:
    env = os.environ.get("TESSDATA_PREFIX")
    if env:
        return env
    for candidate in TESSDATA_CANDIDATES:
        if (Path(candidate) / "ara.traineddata").exists():
            return candidate
    raise RuntimeError(
        "No tessdata with ara.traineddata found; install tesseract-ocr-ara "
        "and tesseract-ocr-eng or set TESSDATA_PREFIX."
    )


def _make(kind: str) -> PyTessBaseAPI:
    global _created
    path = tessdata_dir()
    if kind == "ocr":
        api = PyTessBaseAPI(path=path, lang=LANG, psm=PSM.AUTO, oem=OEM.LSTM_ONLY)
    elif kind.startswith("ocr:"):  # a single-language page: "ocr:ara", "ocr:eng"
        api = PyTessBaseAPI(path=path, lang=kind[4:], psm=PSM.AUTO, oem=OEM.LSTM_ONLY)
    elif kind.startswith("line:"):  # re-reading a region the layout analysis missed
        api = PyTessBaseAPI(path=path, lang=kind[5:], psm=PSM.SINGLE_BLOCK, oem=OEM.LSTM_ONLY)
    elif kind.startswith("number:"):  # one number region: the digit model, or English
        which = kind[7:]
        if which == "eng":
            api = PyTessBaseAPI(path=path, lang="eng", psm=PSM.SINGLE_LINE, oem=OEM.LSTM_ONLY)
        else:
            api = PyTessBaseAPI(
                path=str(numbers.TESSDATA),
                lang=numbers.DIGIT_LANG,
                psm=PSM.SINGLE_LINE,
                oem=OEM.LSTM_ONLY,
            )
            api.SetVariable("tessedit_char_whitelist", numbers.WHITELISTS[which])
    elif kind == "ara":
        api = PyTessBaseAPI(path=path, lang="ara", psm=PSM.SINGLE_LINE, oem=OEM.LSTM_ONLY)
    else:
        api = PyTessBaseAPI(path=path, lang="osd", psm=PSM.OSD_ONLY, oem=OEM.TESSERACT_ONLY)
    if kind != "osd":
        for name, value in OCR_VARIABLES.items():
            api.SetVariable(name, value)
    _created += 1
    return api


def _get(kind: str) -> PyTessBaseAPI:
    """Cached instance of ``kind`` ("ocr", "ocr:ara", "ocr:eng", "ara", "osd").

    Caller must hold :data:`LOCK`."""
    pid = os.getpid()
    cached = _apis.get(kind)
    if cached is None or cached[0] != pid:
        _apis[kind] = (pid, _make(kind))
    return _apis[kind][1]


def get_api() -> PyTessBaseAPI:
    """The process-wide ``ara+eng`` OCR instance (created on first call)."""
    with LOCK:
        return _get("ocr")


def has_osd() -> bool:
    return (Path(tessdata_dir()) / "osd.traineddata").exists()


def instances_created() -> int:
    """How many Tesseract API instances this process has created (for tests/metrics)."""
    return _created


def _pil(gray: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(gray, dtype=np.uint8), mode="L")


def detect_orientation(gray: np.ndarray, dpi: int, *, work_dpi: int = 150) -> int | None:
    """Counter-clockwise quarter turn (0/90/180/270) that makes the text upright.

    Runs Tesseract OSD on a copy downscaled to ``work_dpi`` (~0.1 s). Returns None when
    OSD data is missing, OSD fails (too little text) or is not confident.
    """
    if not has_osd():
        return None
    image = _pil(gray)
    if dpi > work_dpi:
        factor = work_dpi / dpi
        image = image.resize(
            (max(1, round(image.width * factor)), max(1, round(image.height * factor))),
            Image.Resampling.BILINEAR,
        )
    else:
        work_dpi = dpi
    with LOCK:
        api = _get("osd")
        api.SetVariable("user_defined_dpi", str(work_dpi))
        api.SetImage(image)
        try:
            result = api.DetectOrientationScript()
        except RuntimeError:
            result = None
        finally:
            api.Clear()
    if not result or result.get("orient_conf", 0.0) < OSD_MIN_CONFIDENCE:
        return None
    return int(result["orient_deg"]) % 360


def _is_latin_word(text: str) -> bool:
    arabic, latin = script_counts(text)
    return arabic == 0 and latin > 0


def _suspicious_runs(line: Line) -> list[tuple[int, int]]:
    """Index ranges of low-confidence Latin words inside a mostly Arabic line."""
    arabic, latin = script_counts(" ".join(w.text for w in line.words))
    if arabic < ARABIC_LINE_SHARE * (arabic + latin) or not latin:
        return []
    runs: list[tuple[int, int]] = []
    start = None
    for i, word in enumerate([*line.words, None]):
        is_latin = word is not None and _is_latin_word(word.text)
        if is_latin and start is None:
            start = i
        elif not is_latin and start is not None:
            if min(w.confidence for w in line.words[start:i]) < SUSPICIOUS_LATIN_CONF:
                runs.append((start, i))
            start = None
    return runs


def _read_arabic_line(image: Image.Image, box: BBox, dpi: int) -> list[Word]:
    """Recognise one line box with the Arabic-only model. Caller holds :data:`LOCK`."""
    x0, y0, x1, y1 = box
    pad = max(4, (y1 - y0) // 3)
    crop_box = (max(0, x0 - pad), max(0, y0 - pad), min(image.width, x1 + pad))
    crop_box += (min(image.height, y1 + pad),)
    api = _get("ara")
    api.SetVariable("user_defined_dpi", str(dpi))
    api.SetImage(image.crop(crop_box))
    try:
        api.Recognize()
        tsv = api.GetTSVText(0) or ""
    finally:
        api.Clear()
    _, lines = parse_tsv(tsv, (crop_box[0], crop_box[1]))
    return [w for ln in lines for w in ln.words]


def _repair_latin_runs(image: Image.Image, lines: list[Line], dpi: int) -> None:
    """Replace Latin junk the bilingual model produced for Arabic words, in place.

    With ``ara+eng`` Tesseract sometimes reads a blurred Arabic word as Latin gibberish
    (confidence ~65-75, while real English words score 90+). For each such run of Latin
    words in a mostly Arabic line the line is re-read with the Arabic-only model; Arabic
    words lying over the run replace it when they are read with more confidence than
    the run, or with at least :data:`ARABIC_REREAD_MIN_CONF` (the run is already known to
    be doubtful: Latin, unsure, and surrounded by Arabic), or whenever the run itself is
    below :data:`JUNK_LATIN_CONF` (Tesseract sometimes scores a correct Arabic word 0).
    """
    for line in lines:
        runs = _suspicious_runs(line)
        if not runs:
            continue
        arabic_words = _read_arabic_line(image, line.bbox, dpi)
        pad = (line.bbox[3] - line.bbox[1]) // 4
        for start, end in reversed(runs):
            run = line.words[start:end]
            left = min(w.bbox[0] for w in run) - pad
            right = max(w.bbox[2] for w in run) + pad
            found = [
                w
                for w in arabic_words
                if left <= (w.bbox[0] + w.bbox[2]) / 2 <= right and script_counts(w.text)[0] > 0
            ]
            conf, run_conf = mean_conf(found), mean_conf(run)
            if found and (
                conf >= ARABIC_REREAD_MIN_CONF or conf > run_conf or run_conf < JUNK_LATIN_CONF
            ):
                line.words[start:end] = found


def _instance_for(language: str | None) -> str:
    if language in (None, LANG):
        return "ocr"
    if language in LANGUAGES:
        return f"ocr:{language}"
    raise ValueError(f"language must be one of {sorted(LANGUAGES)} or None, not {language!r}")


def ocr_image(
    gray: np.ndarray, dpi: int, *, language: str | None = None, upscale: float = 1.0
) -> tuple[str, list[Segment], float, list[dict], list[dict]]:
    """OCR ``gray`` with the cached Tesseract instance for ``language``.

    ``language``: ``"ara"``, ``"eng"``, ``"ara+eng"`` or None (both, the default).
    ``upscale`` > 1 reads a bicubically enlarged copy (small print: Tesseract's layout
    analysis breaks lines of characters under ~20 px into fragments); boxes are
    returned in ``gray``'s pixels all the same.
    Returns ``(text, segments, mean_confidence, lines, words)``: text in reading order
    (see :mod:`ocr.engine.layout`; logical order for Arabic), lines joined with ``\\n``
    and blocks with a blank line; for each block a ``"block"`` segment followed by its
    ``"line"`` segments; ``lines`` and ``words`` as dicts (see :func:`word_data`).

    Blocks, lines and words are read from Tesseract's TSV rendering, which walks the same
    ``ResultIterator`` as ``GetUTF8Text``. tesserocr's ``PyResultIterator.GetUTF8Text``
    is not used: with tesserocr 2.13 it resolves to the left-to-right iterator and
    returns right-to-left lines cut after the first word, characters in visual order.
    """
    kind = _instance_for(language)
    page_rtl = False
    if upscale > 1.0:
        gray = cv2.resize(gray, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
        dpi = round(dpi * upscale)
    image = _pil(gray)
    with LOCK:
        api = _get(kind)
        api.SetVariable("user_defined_dpi", str(dpi))
        api.SetImage(image)
        try:
            api.Recognize()
            mean_conf = float(api.MeanTextConf())
            tsv = api.GetTSVText(0) or ""
        finally:
            api.Clear()
        _, lines = parse_tsv(tsv)
        lines = drop_overlapping_lines(lines)
        read = _number_reader(dpi)
        lines += _read_missed_regions(gray, image, lines, language or LANG, dpi, read)
        if kind == "ocr":
            _repair_latin_runs(image, lines, dpi)
        if language != "eng":
            page_rtl = layout.is_rtl(lines)
            numbers.read_numbers(image, gray, lines, read, page_rtl=page_rtl)
    for line in lines:
        rtl = numbers.line_is_rtl(line, page_rtl)
        line.words = bidi.logical_order(line.words, rtl)
        for word in line.words:
            word.text = bidi.edge_punctuation(word.text, rtl)
    _settle_persian_digits(lines)
    if upscale > 1.0:
        lines = [_scaled(line, 1.0 / upscale) for line in lines]
    blocks = layout.order_blocks(drop_garbage(lines))
    text, segments = build_segments(blocks)
    line_dicts, words = word_data(blocks)
    return text, segments, mean_conf, line_dicts, words


def _number_reader(dpi: int) -> numbers.Reader:
    """Reads a crop with the digit model (one digit system) or the English one, as
    :func:`ocr.engine.numbers.read_numbers` asks. Caller holds :data:`LOCK`."""

    def read(crop: Image.Image, kind: str) -> list[tuple[str, float, BBox]]:
        api = _get(f"number:{kind}")
        api.SetVariable("user_defined_dpi", str(dpi))
        api.SetImage(crop)
        try:
            api.Recognize()
            tsv = api.GetTSVText(0) or ""
        finally:
            api.Clear()
        _, found = parse_tsv(tsv)
        return [(w.text, w.confidence, w.bbox) for line in found for w in line.words]

    return read


def _settle_persian_digits(lines: list[Line]) -> None:
    """One Eastern digit system per page: Persian when the page's digits say so (see
    :func:`ocr.engine.numbers.persian_page`), Arabic-Indic otherwise."""
    texts = [w.text for line in lines for w in line.words]
    persian = numbers.persian_page(texts)
    for line in lines:
        for word in line.words:
            word.text = numbers.settle_eastern(word.text, persian)


def _scaled(line: Line, factor: float) -> Line:
    def box(b: BBox) -> BBox:
        return (
            int(b[0] * factor),
            int(b[1] * factor),
            max(int(b[0] * factor) + 1, round(b[2] * factor)),
            max(int(b[1] * factor) + 1, round(b[3] * factor)),
        )

    words = [Word(w.text, w.confidence, box(w.bbox)) for w in line.words]
    return Line(line.block, box(line.bbox), words)


def missed_regions(gray: np.ndarray, lines: list[Line]) -> list[BBox]:
    """Boxes of text-like ink that no recognised line covers.

    Tesseract's layout analysis sometimes skips a whole line of a column, a page number
    or the cells of a table. Ink outside the (padded) line boxes is smeared along the
    text direction; blobs about one line high and at least a character wide are
    returned, larger ones (pictures, rules) and smaller ones (specks) are not.
    """
    if not lines:
        return []
    height = float(np.median([ln.bbox[3] - ln.bbox[1] for ln in lines]))
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    pad = max(2, int(MISSED_PAD * height))
    for line in lines:
        x0, y0, x1, y1 = line.bbox
        ink[max(0, y0 - pad) : y1 + pad, max(0, x0 - pad) : x1 + pad] = 0
    if cv2.countNonZero(ink) < 0.05 * height * height:
        return []
    smear = cv2.getStructuringElement(
        cv2.MORPH_RECT, (max(3, int(height)), max(3, int(height / 3)))
    )
    count, _, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(ink, smear), connectivity=8)
    boxes = []
    for x, y, w, h, _ in stats[1:count]:
        text_sized = 0.5 * height <= h <= 2.5 * height and w >= 0.4 * height
        # Text is dense; a scatter of specks smeared together is not.
        if text_sized and cv2.countNonZero(ink[y : y + h, x : x + w]) >= MISSED_MIN_INK * w * h:
            boxes.append((int(x), int(y), int(x + w), int(y + h)))
    return boxes


def _read_missed_regions(
    gray: np.ndarray,
    image: Image.Image,
    lines: list[Line],
    language: str,
    dpi: int,
    reader: numbers.Reader,
) -> list[Line]:
    """Re-read each :func:`missed_regions` box as a block of its own. Caller holds
    :data:`LOCK`. Readings below :data:`MISSED_MIN_CONF` are taken for noise, unless, on
    a page with Arabic, the digit model reads a number of two digits or more there (a
    table cell of Arabic-Indic digits, which the Arabic model cannot read)."""
    found: list[Line] = []
    block = max((ln.block for ln in lines), default=0) + 1
    api = None
    # Arabic-Indic table cells are what the Arabic model cannot read: only on Arabic pages.
    arabic = language != "eng" and any(
        script_counts(w.text)[0] for line in lines for w in line.words
    )
    for x0, y0, x1, y1 in missed_regions(gray, lines)[:MISSED_MAX_REGIONS]:
        before = len(found)
        if api is None:
            api = _get(f"line:{language}")
            api.SetVariable("user_defined_dpi", str(dpi))
        api.SetImage(image.crop((x0, y0, x1, y1)))
        try:
            api.Recognize()
            tsv = api.GetTSVText(0) or ""
        finally:
            api.Clear()
        _, region_lines = parse_tsv(tsv, (x0, y0))
        for line in region_lines:
            # Only words with letters or digits: a region of specks reads as "* + .".
            words = [w for w in line.words if any(ch.isalnum() for ch in w.text)]
            if words and mean_conf(words) >= MISSED_MIN_CONF:
                found.append(Line(block, union([w.bbox for w in words]), words))
                block += 1
        if len(found) == before and arabic:
            box = (x0, y0, x1, y1)
            read, conf, _ = numbers.best_reading(image, box, y1 - y0, reader, with_english=False)
            text = "".join(t for t, _, _ in read)
            if conf >= numbers.GAP_MIN_CONF and numbers.tall_digits(text) >= 2:
                words = [Word(t, c, b) for t, c, b in read]
                found.append(Line(block, union([w.bbox for w in words]), words))
                block += 1
    return found
