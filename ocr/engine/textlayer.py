"""Embedded PDF text layers: extraction, quality check and line/block segments.

A text layer is used instead of OCR only when it looks trustworthy
(:func:`text_layer_is_good`): at least :data:`MIN_TEXT_CHARS` non-space characters, few
replacement / control / private-use characters (broken ``ToUnicode`` maps), and, for
Arabic, plausible *logical* order. Old PDF producers often store Arabic in visual order
(words reversed) or isolated letters; those pages go to OCR instead. Presentation forms
(U+FB50..U+FEFF) are folded to base letters with NFKC.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import pypdfium2 as pdfium

from .results import Segment
from .text import ARABIC_LETTER_RE, normalize_text

MIN_TEXT_CHARS = 20
MAX_BAD_RATIO = 0.02
BAD_CATEGORIES = frozenset({"Cc", "Co", "Cn", "Cs"})

_ARABIC_WORD_RE = re.compile(r"[\u0621-\u064A\u0671-\u06D3]+")


def extract_text(page: pdfium.PdfPage) -> str:
    """The page's text layer as pdfium returns it (may be empty)."""
    textpage = page.get_textpage()
    try:
        return textpage.get_text_range()
    finally:
        textpage.close()


def _arabic_order_ok(text: str) -> bool:
    """Heuristic: does Arabic text read in logical (not visual/reversed) order?

    In logical order words often *start* with the article "ال" and *end* with "ة"/"ى";
    reversed words show the mirror image ("لا" at the end, "ة"/"ى" at the start).
    Isolated letters separated by spaces (a common broken extraction) also fail.
    """
    words = _ARABIC_WORD_RE.findall(text)
    if len(words) < 5:
        return True
    forward = sum(w.startswith("ال") for w in words) + sum(w[-1] in "ةى" for w in words)
    reverse = sum(w.endswith("لا") for w in words) + sum(w[0] in "ةى" for w in words)
    singles = sum(len(w) == 1 for w in words)
    return forward >= reverse and singles <= 0.3 * len(words)


def text_layer_is_good(text: str) -> bool:
    """True when ``text`` (a raw text layer) is substantial and sane enough to trust."""
    text = unicodedata.normalize("NFKC", text)
    chars = [c for c in text if not c.isspace()]
    if len(chars) < MIN_TEXT_CHARS:
        return False
    bad = sum(c == "\ufffd" or unicodedata.category(c) in BAD_CATEGORIES for c in chars)
    if bad > MAX_BAD_RATIO * len(chars):
        return False
    useful = sum(c.isalnum() for c in chars)
    if useful < 0.5 * len(chars):
        return False
    return len(ARABIC_LETTER_RE.findall(text)) < 10 or _arabic_order_ok(text)


def _merge_rects(
    rects: Sequence[tuple[float, float, float, float]],
) -> list[tuple[float, float, float, float]]:
    """Merge consecutive pdfium text rects (PDF coords) sharing a vertical band."""
    lines: list[list[float]] = []
    for left, bottom, right, top in rects:
        if lines:
            cur = lines[-1]
            overlap = min(cur[3], top) - max(cur[1], bottom)
            if overlap > 0.5 * min(cur[3] - cur[1], top - bottom):
                cur[0], cur[1] = min(cur[0], left), min(cur[1], bottom)
                cur[2], cur[3] = max(cur[2], right), max(cur[3], top)
                continue
        lines.append([left, bottom, right, top])
    return [(a, b, c, d) for a, b, c, d in lines]


def text_layer_segments(
    page: pdfium.PdfPage, bitmap: pdfium.PdfBitmap
) -> tuple[str, list[Segment]]:
    """Lines and blocks of the text layer, with boxes in ``bitmap`` pixel coordinates.

    Lines come from pdfium's text rectangles (merged per baseline band, kept in content
    order); consecutive lines are grouped into a block while the vertical gap stays
    below one line height. Confidence is 100 for text-layer segments. Returns the page
    text (lines joined with ``\\n``, blocks with a blank line) and the segments.
    """
    textpage = page.get_textpage()
    try:
        rects = [textpage.get_rect(i) for i in range(textpage.count_rects())]
        lines = []
        for rect in _merge_rects(rects):
            raw = textpage.get_text_bounded(*rect)
            line_text = normalize_text(raw)
            if line_text:
                lines.append((rect, line_text))
    finally:
        textpage.close()

    conv = bitmap.get_posconv(page)

    def to_px(rect: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        left, bottom, right, top = rect
        xs, ys = zip(conv.to_bitmap(left, bottom), conv.to_bitmap(right, top), strict=True)
        return (
            max(0, int(min(xs))),
            max(0, int(min(ys))),
            min(bitmap.width, int(max(xs)) + 1),
            min(bitmap.height, int(max(ys)) + 1),
        )

    blocks: list[list[tuple[tuple[int, int, int, int], str]]] = []
    prev: tuple[int, int, int, int] | None = None
    for rect, line_text in lines:
        box = to_px(rect)
        height = max(1, box[3] - box[1])
        new_block = (
            prev is None
            or box[1] - prev[3] > height
            or box[3] < prev[1]  # went back up: new column / new region
        )
        if new_block:
            blocks.append([])
        blocks[-1].append((box, line_text))
        prev = box

    segments: list[Segment] = []
    block_texts = []
    for index, block in enumerate(blocks):
        text = "\n".join(t for _, t in block)
        block_texts.append(text)
        x0 = min(b[0] for b, _ in block)
        y0 = min(b[1] for b, _ in block)
        x1 = max(b[2] for b, _ in block)
        y1 = max(b[3] for b, _ in block)
        segments.append(Segment("block", (x0, y0, x1, y1), text, 100.0, index))
        segments.extend(Segment("line", box, t, 100.0, index) for box, t in block)
    return "\n\n".join(block_texts), segments
