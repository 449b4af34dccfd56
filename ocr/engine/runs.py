"""Whole numbers from the ink: the run of ink a number word belongs to, read glyph by
glyph.

Why: in a right-to-left line Tesseract often cuts a number it cannot read into pieces
and leaves ink between them in no word at all (``17,458.08`` read by the Arabic model as
``1`` and ``8`` with ``58.`` nowhere; ``٢٬٤٨٠٫٦٤`` as ``٢٤٨`` and ``٦٤``). Reading each
piece again cannot give the number back. The ink can: the digits of one number stand
closer together than a space.

What (:func:`whole_numbers`): from each word without letters that holds a digit, the
line's ink is followed left and right while the next inked column is less than
:data:`RUN_GAP` line heights away, never into a word with letters; when the run is
wider than the word or takes in other words, it is read glyph by glyph
(:func:`ocr.engine.glyphs.read`, in each digit system) and, when every character is a
character of a number and the weakest is :data:`TRUST` sure, its numbers replace the
word and every word inside the run. Otherwise the words stay as they were, for the
digit model (:mod:`ocr.engine.numbers`).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from . import glyphs
from .lines import Word
from .results import BBox
from .text import ARABIC_LETTER_RE, LATIN_LETTER_RE

RUN_GAP = 0.5  # of the line's height: ink closer than this belongs to the same number
TRUST = 30.0  # a glyph reading's weakest character must be this sure
WIDER = 0.1  # of the line's height: a run this much wider than its word is worth a look
UNSURE_CONF = 50.0  # a word read less surely than this may be a number read as letters
UNSURE_DIGITS = 2  # ... and is one when read glyph by glyph into this many digits or more
DIGITS = frozenset("0123456789٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹")

Found = list[tuple[str, float, BBox]]


def crop_box(box: BBox, height: int, size: tuple[int, int]) -> BBox:
    """``box`` padded for reading: a little to the sides, more above and below."""
    pad_x, pad_y = max(2, height // 8), max(3, height // 3)
    return (
        max(0, box[0] - pad_x),
        max(0, box[1] - pad_y),
        min(size[0], box[2] + pad_x),
        min(size[1], box[3] + pad_y),
    )


def number_text(text: str) -> bool:
    """Digits with separators and signs only, at least one digit."""
    return any(ch in DIGITS for ch in text) and not any(ch.isalpha() for ch in text)


def _unsure(word: Word) -> bool:
    """A reading too unsure to trust (a number read as letters: ``لكت`` at 35)."""
    return word.confidence < UNSURE_CONF


def _has_letters(text: str) -> bool:
    return bool(ARABIC_LETTER_RE.search(text) or LATIN_LETTER_RE.search(text))


def ink_run(ink: np.ndarray, box: BBox, height: int, stops: list[BBox]) -> BBox:
    """``box`` grown left and right over the ink of its rows while the gap to the next
    inked column is under :data:`RUN_GAP` line heights, stopping at any of ``stops``."""
    x0, y0, x1, y1 = box
    left_stop = max([0, *(s[2] for s in stops if s[2] <= x0 + 1)])
    right_stop = min([ink.shape[1], *(s[0] for s in stops if s[0] >= x1 - 1)])
    columns = ink[y0:y1, left_stop:right_stop].any(axis=0)
    inked = np.flatnonzero(columns) + left_stop
    gap = max(2, int(RUN_GAP * height))
    start, end = x0, x1
    for x in inked[::-1]:  # leftwards
        if x >= start:
            continue
        if start - x > gap:
            break
        start = int(x)
    for x in inked:  # rightwards
        if x < end:
            continue
        if x - end > gap:
            break
        end = int(x) + 1
    return (start, y0, end, y1)


def read_run(
    image: Image.Image, box: BBox, height: int, systems: tuple[str, ...]
) -> tuple[Found, str]:
    """``box`` read glyph by glyph in the surest digit system at :data:`TRUST` or more:
    (words left to right in page pixels, system), or ([], "")."""
    area = crop_box(box, height, image.size)
    gray = np.asarray(image.crop(area).convert("L"))
    best: Found = []
    chosen = ""
    for system in systems:
        found = glyphs.read(gray, system)
        sure = bool(found) and min(c for _, c, _ in found) >= TRUST
        if sure and (not best or _mean(found) > _mean(best)):
            best, chosen = found, system
    placed = [
        (t, c, (b[0] + area[0], b[1] + area[1], b[2] + area[0], b[3] + area[1])) for t, c, b in best
    ]
    return placed, chosen


def _mean(found: Found) -> float:
    return sum(c for _, c, _ in found) / len(found)


def whole_numbers(
    image: Image.Image,
    ink: np.ndarray,
    words: list[Word],
    rows: tuple[int, int],
    systems: tuple[str, ...],
) -> tuple[list[Word], set[int]]:
    """A right-to-left line's ``words`` with each number read whole from its run of ink
    (see the module docstring), and the ids of the new words (read already)."""
    top, bottom = rows
    height = max(8, bottom - top)
    lettered = [w.bbox for w in words if _has_letters(w.text) and not _unsure(w)]
    out = list(words)
    done: set[int] = set()
    for word in words:
        unsure = _unsure(word) and not number_text(word.text)
        if not any(w is word for w in out) or not (number_text(word.text) or unsure):
            continue
        core = (word.bbox[0], max(word.bbox[1], top), word.bbox[2], min(word.bbox[3], bottom))
        if core[3] - core[1] < 4:
            core = word.bbox
        run = ink_run(ink, core, height, lettered)
        inside = [
            w for w in out if w is not word and w.bbox[0] >= run[0] - 2 and w.bbox[2] <= run[2] + 2
        ]
        if any(_has_letters(w.text) and not _unsure(w) for w in inside):
            continue
        wider = (word.bbox[0] - run[0]) + (run[2] - word.bbox[2]) >= WIDER * height
        if not (inside or wider or unsure):
            continue
        found, _ = read_run(image, run, height, systems)
        digits = sum(ch in DIGITS for t, _, _ in found for ch in t)
        if not found or (unsure and digits < UNSURE_DIGITS):
            continue
        new = [Word(t, c, b) for t, c, b in found][::-1]  # right to left, as the line
        gone = {id(word), *(id(w) for w in inside)}
        at = min(i for i, w in enumerate(out) if id(w) in gone)
        out = [w for w in out if id(w) not in gone]
        out[at:at] = new
        done.update(id(w) for w in new)
    return out, done
