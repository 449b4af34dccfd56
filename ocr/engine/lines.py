"""Recognised lines and words, and what is done with them once read.

* :class:`Word`, :class:`Line` and :func:`parse_tsv` (Tesseract's TSV rendering);
* :func:`drop_overlapping_lines` (phantom lines built from an Arabic row's dots);
* :func:`drop_garbage` (noise read as words, see ``GARBAGE_CONF``);
* :func:`build_segments` and :func:`word_data`: the page's text, segments, and JSON-ready
  lines and words, in reading order.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import layout
from .results import BBox, Segment
from .text import ARABIC_LETTER_RE, LATIN_LETTER_RE, fix_arabic_punctuation, normalize_text

ARABIC_LINE_SHARE = 0.6  # a line is "Arabic" when this share of its letters is Arabic
OVERLAP_LOOKAHEAD = 4
NOISE_LINE_ALNUM = 0.5
GARBAGE_CONF = 85.0  # noise-like words below this confidence are dropped (measured)


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


def overlap(a0: int, a1: int, b0: int, b1: int) -> float:
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
        return mean_conf(line.words), sum(len(w.text) for w in line.words)

    dropped: set[int] = set()
    for i, a in enumerate(lines):
        for j in range(i + 1, min(i + 1 + OVERLAP_LOOKAHEAD, len(lines))):
            b = lines[j]
            if i in dropped or j in dropped or a.block != b.block:
                continue
            if (
                overlap(a.bbox[1], a.bbox[3], b.bbox[1], b.bbox[3]) >= 0.5
                and overlap(*core_rows(a), *core_rows(b)) >= 0.5
                and overlap(a.bbox[0], a.bbox[2], b.bbox[0], b.bbox[2]) >= 0.5
            ):
                dropped.add(j if score(a) >= score(b) else i)
    return [line for k, line in enumerate(lines) if k not in dropped]


def core_rows(line: Line) -> tuple[int, int]:
    """The rows a line's words share: the median top and median bottom of its words.

    A speck read as a "word" (or glued to one) stretches the line's box by half a line
    or more; the medians ignore it.
    """
    tops = sorted(w.bbox[1] for w in line.words)
    bottoms = sorted(w.bbox[3] for w in line.words)
    return tops[len(tops) // 2], bottoms[len(bottoms) // 2]


def script_counts(text: str) -> tuple[int, int]:
    return len(ARABIC_LETTER_RE.findall(text)), len(LATIN_LETTER_RE.findall(text))


def mean_conf(words: list[Word]) -> float:
    """Confidence mean weighted by word length (words with conf < 0 are ignored)."""
    scored = [(w.confidence, len(w.text)) for w in words if w.confidence >= 0]
    total = sum(n for _, n in scored)
    return sum(c * n for c, n in scored) / total if total else 0.0


def _is_noise_word(word: Word, line_script: str) -> bool:
    """A recognised "word" that is typical noise: no letter or digit at all (specks read
    as ``. , ' * +``), or a word of the other script inside a line of one script (dots
    and dust read as ``ll``, ``ee`` in Arabic lines, as ``يه`` or ``٠`` in English
    ones). Single letters are not noise in themselves ("A", "I", "و")."""
    if not any(ch.isalnum() for ch in word.text):
        return True
    arabic, latin = script_counts(word.text)
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
        arabic, latin = script_counts(" ".join(w.text for w in line.words))
        line_script = "common"
        if arabic >= ARABIC_LINE_SHARE * (arabic + latin) > 0:
            line_script = "arabic"
        elif latin >= ARABIC_LINE_SHARE * (arabic + latin) > 0:
            line_script = "latin"
        chars = [ch for w in line.words for ch in w.text]
        if sum(ch.isalnum() for ch in chars) < NOISE_LINE_ALNUM * len(chars) and (
            mean_conf(line.words) < limit
        ):
            continue  # a "line" of specks: "* + . 5 * ++ ٠"
        words = [
            w for w in line.words if w.confidence >= limit or not _is_noise_word(w, line_script)
        ]
        if words:
            kept.append(Line(line.block, union([w.bbox for w in words]), words))
    return kept


def union(boxes: list[BBox]) -> BBox:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _wordscript_counts(text: str) -> str:
    arabic, latin = script_counts(text)
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
        confs = [mean_conf(ln.words) for ln in block]
        text = "\n".join(texts)
        block_texts.append(text)
        weights = [(c, len(t)) for c, t in zip(confs, texts, strict=True)]
        conf = sum(c * n for c, n in weights) / max(1, sum(n for _, n in weights))
        segments.append(Segment("block", union([ln.bbox for ln in block]), text, conf, index))
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
                    "confidence": round(mean_conf(line.words), 2),
                    "block": block_index,
                    "direction": "rtl" if rtl else "ltr",
                }
            )
            for word in line.words:
                script = _wordscript_counts(word.text)
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
