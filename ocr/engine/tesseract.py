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

After recognition, :func:`ocr_image` drops phantom lines, re-reads missed regions,
repairs Latin junk in Arabic lines, drops garbage (:func:`drop_garbage`) and hands the
lines to :mod:`ocr.engine.layout` for the reading order.

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

import cv2
import numpy as np
from PIL import Image
from tesserocr import OEM, PSM, PyTessBaseAPI

from . import layout
from .results import BBox, Segment
from .text import ARABIC_LETTER_RE, LATIN_LETTER_RE, fix_arabic_punctuation, normalize_text

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
ARABIC_LINE_SHARE = 0.6  # a line is "Arabic" when this share of its letters is Arabic
OVERLAP_LOOKAHEAD = 4
MISSED_PAD = 0.35  # line boxes grow by this share of a line height before looking for misses
MISSED_MIN_CONF = 60.0  # a re-read region less sure than this is noise
MISSED_MIN_INK = 0.06  # share of ink in a missed region's box below which it is specks
MISSED_MAX_REGIONS = 60  # bound the work on pathological pages
NOISE_LINE_ALNUM = 0.5
GARBAGE_CONF = 85.0  # noise-like words below this confidence are dropped (measured)

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
    overlap both vertically and horizontally, vertically for their boxes and for the
    rows their words share, :func:`_core_rows`) are one visual row: the less confident
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
                and _overlap(*_core_rows(a), *_core_rows(b)) >= 0.5
                and _overlap(a.bbox[0], a.bbox[2], b.bbox[0], b.bbox[2]) >= 0.5
            ):
                dropped.add(j if score(a) >= score(b) else i)
    return [line for k, line in enumerate(lines) if k not in dropped]


def _core_rows(line: Line) -> tuple[int, int]:
    """The rows a line's words share: the median top and median bottom of its words.

    A speck read as a "word" (or glued to one) stretches the line's box by half a line
    or more; the medians ignore it.
    """
    tops = sorted(w.bbox[1] for w in line.words)
    bottoms = sorted(w.bbox[3] for w in line.words)
    return tops[len(tops) // 2], bottoms[len(bottoms) // 2]


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
        lines += _read_missed_regions(gray, image, lines, language or LANG, dpi)
        if kind == "ocr":
            _repair_latin_runs(image, lines, dpi)
    if upscale > 1.0:
        lines = [_scaled(line, 1.0 / upscale) for line in lines]
    blocks = layout.order_blocks(drop_garbage(lines))
    text, segments = build_segments(blocks)
    line_dicts, words = word_data(blocks)
    return text, segments, mean_conf, line_dicts, words


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
    gray: np.ndarray, image: Image.Image, lines: list[Line], language: str, dpi: int
) -> list[Line]:
    """Re-read each :func:`missed_regions` box as a block of its own. Caller holds
    :data:`LOCK`. Readings below :data:`MISSED_MIN_CONF` are taken for noise."""
    found: list[Line] = []
    block = max((ln.block for ln in lines), default=0) + 1
    api = None
    for x0, y0, x1, y1 in missed_regions(gray, lines)[:MISSED_MAX_REGIONS]:
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
            if words and _mean_conf(words) >= MISSED_MIN_CONF:
                found.append(Line(block, _union([w.bbox for w in words]), words))
                block += 1
    return found


def _is_noise_word(word: Word, line_script: str) -> bool:
    """A recognised "word" that is typical noise: no letter or digit at all (specks read
    as ``. , ' * +``), or a word of the other script inside a line of one script (dots
    and dust read as ``ll``, ``ee`` in Arabic lines, as ``يه`` or ``٠`` in English
    ones). Single letters are not noise in themselves ("A", "I", "و")."""
    if not any(ch.isalnum() for ch in word.text):
        return True
    arabic, latin = _script(word.text)
    if line_script == "arabic":
        return latin > 0 and arabic == 0
    if line_script == "latin":
        return arabic > 0 or any("\u0660" <= ch <= "\u0669" for ch in word.text)
    return False


def drop_garbage(lines: list[Line], threshold: float | None = None) -> list[Line]:
    """Drop noise-like words recognised with confidence below ``threshold``, and whole
    lines below it that are mostly symbols (under :data:`NOISE_LINE_ALNUM` letters or
    digits).

    The default, :data:`GARBAGE_CONF`, was measured on ``bench/ocr_quality_bench.py``
    (see docs/ocr.md). Lines left without words are dropped.
    """
    limit = GARBAGE_CONF if threshold is None else threshold
    kept = []
    for line in lines:
        arabic, latin = _script(" ".join(w.text for w in line.words))
        line_script = "common"
        if arabic >= ARABIC_LINE_SHARE * (arabic + latin) > 0:
            line_script = "arabic"
        elif latin >= ARABIC_LINE_SHARE * (arabic + latin) > 0:
            line_script = "latin"
        chars = [ch for w in line.words for ch in w.text]
        if sum(ch.isalnum() for ch in chars) < NOISE_LINE_ALNUM * len(chars) and (
            _mean_conf(line.words) < limit
        ):
            continue  # a "line" of specks: "* + . 5 * ++ ٠"
        words = [
            w for w in line.words if w.confidence >= limit or not _is_noise_word(w, line_script)
        ]
        if words:
            kept.append(Line(line.block, _union([w.bbox for w in words]), words))
    return kept


def _union(boxes: list[BBox]) -> BBox:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _word_script(text: str) -> str:
    arabic, latin = _script(text)
    if arabic > latin:
        return "arabic"
    if latin:
        return "latin"
    return "common"


def build_segments(blocks: list[list[Line]]) -> tuple[str, list[Segment]]:
    """Page text and block/line segments from lines grouped into ordered blocks."""
    segments: list[Segment] = []
    block_texts: list[str] = []
    for index, block in enumerate(blocks):
        texts = [fix_arabic_punctuation(" ".join(w.text for w in ln.words)) for ln in block]
        confs = [_mean_conf(ln.words) for ln in block]
        text = "\n".join(texts)
        block_texts.append(text)
        weights = [(c, len(t)) for c, t in zip(confs, texts, strict=True)]
        conf = sum(c * n for c, n in weights) / max(1, sum(n for _, n in weights))
        segments.append(Segment("block", _union([ln.bbox for ln in block]), text, conf, index))
        segments.extend(
            Segment("line", ln.bbox, t, c, index)
            for ln, t, c in zip(block, texts, confs, strict=True)
        )
    return "\n\n".join(block_texts), segments


def word_data(blocks: list[list[Line]]) -> tuple[list[dict], list[dict]]:
    """JSON-ready lines and words in reading order.

    A line: ``{"text", "bbox": [x0, y0, x1, y1], "confidence", "block", "direction"}``
    (``"rtl"`` when its letters are mostly Arabic). A word: ``{"text", "bbox",
    "confidence", "line", "block", "script", "direction"}`` where ``line`` indexes the
    lines, ``script`` is ``"arabic"``, ``"latin"`` or ``"common"`` (digits, symbols) and
    ``direction`` the word's own. Boxes are pixels of the final page image.
    """
    lines: list[dict] = []
    words: list[dict] = []
    for block_index, block in enumerate(blocks):
        for line in block:
            rtl = layout.is_rtl([line])
            line_index = len(lines)
            lines.append(
                {
                    "text": fix_arabic_punctuation(" ".join(w.text for w in line.words)),
                    "bbox": list(line.bbox),
                    "confidence": round(_mean_conf(line.words), 2),
                    "block": block_index,
                    "direction": "rtl" if rtl else "ltr",
                }
            )
            for word in line.words:
                script = _word_script(word.text)
                direction = {"arabic": "rtl", "latin": "ltr"}.get(script, lines[-1]["direction"])
                words.append(
                    {
                        "text": word.text,
                        "bbox": list(word.bbox),
                        "confidence": round(max(0.0, word.confidence), 2),
                        "line": line_index,
                        "block": block_index,
                        "script": script,
                        "direction": direction,
                    }
                )
    return lines, words
