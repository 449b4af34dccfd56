"""Tesseract (tesserocr) access: one cached API instance per process, OCR and OSD.

* :func:`get_api` returns the process-wide ``PyTessBaseAPI`` for ``ara+eng``
  (LSTM only, ``PSM.AUTO``), created lazily on first use and reused by every call.
  Loading the models costs ~0.3 s, so creating one per page would be wasteful.
* A second cached instance (``osd``, legacy engine, ``PSM.OSD_ONLY``) serves orientation
  detection when ``osd.traineddata`` is installed, and a third (``ara`` only,
  ``PSM.SINGLE_LINE``) is created on demand to re-read the rare Arabic words that the
  bilingual model misreads as Latin junk (see :func:`_repair_latin_runs`).

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tesserocr import OEM, PSM, PyTessBaseAPI

from .results import BBox, Segment
from .text import ARABIC_LETTER_RE, LATIN_LETTER_RE, fix_arabic_punctuation, normalize_text

LANG = "ara+eng"
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
ARABIC_LINE_SHARE = 0.6
OVERLAP_LOOKAHEAD = 4  # a line is "Arabic" when this share of its letters is Arabic

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
    """Cached instance of ``kind`` ("ocr", "ara", "osd"). Caller must hold :data:`LOCK`."""
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


@dataclass(slots=True)
class Word:
    text: str
    confidence: float
    bbox: BBox


@dataclass(slots=True)
class Line:
    block: int
    bbox: BBox
    words: list[Word]


def parse_tsv(tsv: str, offset: tuple[int, int] = (0, 0)) -> tuple[dict[int, BBox], list[Line]]:
    """Parse Tesseract TSV into block boxes and lines of words (reading order kept).

    Levels: 2 = block, 4 = line, 5 = word. ``offset`` is added to every box.
    """
    dx, dy = offset
    blocks: dict[int, BBox] = {}
    lines: dict[tuple[int, int, int], Line] = {}
    for row in tsv.splitlines():
        cols = row.split("\t")
        if len(cols) < 11 or not cols[0].isdigit():
            continue
        level, block, par, line = (int(c) for c in (cols[0], cols[2], cols[3], cols[4]))
        left, top, width, height = (int(c) for c in cols[6:10])
        box = (left + dx, top + dy, left + width + dx, top + height + dy)
        if level == 2:
            blocks[block] = box
        elif level == 4:
            lines[(block, par, line)] = Line(block, box, [])
        elif level == 5 and (block, par, line) in lines:
            text = normalize_text(cols[11] if len(cols) > 11 else "")
            if text:
                lines[(block, par, line)].words.append(Word(text, float(cols[10]), box))
    return blocks, [ln for ln in lines.values() if ln.words]


def _overlap(a0: int, a1: int, b0: int, b1: int) -> float:
    """Overlap of [a0, a1) and [b0, b1) as a share of the shorter interval."""
    shorter = max(1, min(a1 - a0, b1 - b0))
    return max(0, min(a1, b1) - max(a0, b0)) / shorter


def drop_overlapping_lines(lines: list[Line]) -> list[Line]:
    """Remove phantom lines that sit on top of another line of the same block.

    With row-noise rejection off (see module doc) Tesseract occasionally builds a second
    "line" from the dots and marks of an Arabic row, overlapping the real line and
    repeating some of its words. Two lines of a block covering the same area (>= 50%
    overlap both vertically and horizontally) are one visual row: the less confident
    one (then the shorter one) is dropped. Phantoms follow their line in reading order,
    so only the next :data:`OVERLAP_LOOKAHEAD` lines are compared.
    """

    def score(line: Line) -> tuple[float, int]:
        return _mean_conf(line.words), sum(len(w.text) for w in line.words)

    dropped: set[int] = set()
    for i, a in enumerate(lines):
        for j in range(i + 1, min(i + 1 + OVERLAP_LOOKAHEAD, len(lines))):
            b = lines[j]
            if i in dropped or j in dropped or a.block != b.block:
                continue
            if (
                _overlap(a.bbox[1], a.bbox[3], b.bbox[1], b.bbox[3]) >= 0.5
                and _overlap(a.bbox[0], a.bbox[2], b.bbox[0], b.bbox[2]) >= 0.5
            ):
                dropped.add(j if score(a) >= score(b) else i)
    return [line for k, line in enumerate(lines) if k not in dropped]


def _script(text: str) -> tuple[int, int]:
    return len(ARABIC_LETTER_RE.findall(text)), len(LATIN_LETTER_RE.findall(text))


def _is_latin_word(text: str) -> bool:
    arabic, latin = _script(text)
    return arabic == 0 and latin > 0


def _suspicious_runs(line: Line) -> list[tuple[int, int]]:
    """Index ranges of low-confidence Latin words inside a mostly Arabic line."""
    arabic, latin = _script(" ".join(w.text for w in line.words))
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
                if left <= (w.bbox[0] + w.bbox[2]) / 2 <= right and _script(w.text)[0] > 0
            ]
            conf, run_conf = _mean_conf(found), _mean_conf(run)
            if found and (
                conf >= ARABIC_REREAD_MIN_CONF or conf > run_conf or run_conf < JUNK_LATIN_CONF
            ):
                line.words[start:end] = found


def _mean_conf(words: list[Word]) -> float:
    """Confidence mean weighted by word length (words with conf < 0 are ignored)."""
    scored = [(w.confidence, len(w.text)) for w in words if w.confidence >= 0]
    total = sum(n for _, n in scored)
    return sum(c * n for c, n in scored) / total if total else 0.0


def ocr_image(gray: np.ndarray, dpi: int) -> tuple[str, list[Segment], float]:
    """OCR ``gray`` with the cached ``ara+eng`` instance.

    Returns ``(text, segments, mean_confidence)``: text in Tesseract's reading order
    (logical order for Arabic), lines joined with ``\\n`` and blocks with a blank line;
    for each non-empty block a ``"block"`` segment followed by its ``"line"`` segments.

    Blocks, lines and words are read from Tesseract's TSV rendering, which walks the same
    ``ResultIterator`` as ``GetUTF8Text``. tesserocr's ``PyResultIterator.GetUTF8Text``
    is not used: with tesserocr 2.13 it resolves to the left-to-right iterator and
    returns right-to-left lines cut after the first word, characters in visual order.
    """
    image = _pil(gray)
    with LOCK:
        api = _get("ocr")
        api.SetVariable("user_defined_dpi", str(dpi))
        api.SetImage(image)
        try:
            api.Recognize()
            mean_conf = float(api.MeanTextConf())
            tsv = api.GetTSVText(0) or ""
        finally:
            api.Clear()
        block_boxes, lines = parse_tsv(tsv)
        lines = drop_overlapping_lines(lines)
        _repair_latin_runs(image, lines, dpi)
    text, segments = build_segments(block_boxes, lines)
    return text, segments, mean_conf


def build_segments(block_boxes: dict[int, BBox], lines: list[Line]) -> tuple[str, list[Segment]]:
    """Page text and block/line segments from parsed lines."""
    grouped: dict[int, list[tuple[BBox, str, float]]] = {}
    for line in lines:
        text = fix_arabic_punctuation(" ".join(w.text for w in line.words))
        grouped.setdefault(line.block, []).append((line.bbox, text, _mean_conf(line.words)))
    segments: list[Segment] = []
    block_texts: list[str] = []
    for index, (block, block_lines) in enumerate(grouped.items()):
        text = "\n".join(t for _, t, _ in block_lines)
        block_texts.append(text)
        weights = [(c, len(t)) for _, t, c in block_lines]
        conf = sum(c * n for c, n in weights) / max(1, sum(n for _, n in weights))
        box = block_boxes.get(block, block_lines[0][0])
        segments.append(Segment("block", box, text, conf, index))
        segments.extend(Segment("line", b, t, c, index) for b, t, c in block_lines)
    return "\n\n".join(block_texts), segments
