"""Reading order: columns, blocks and tables from recognised lines.

Tesseract's own block order is unreliable on multi-column pages (with ``ara+eng`` it
often reads the right column of an English page first), so the engine orders lines
itself, from their boxes alone:

1. **Bands.** Lines are cut into horizontal bands wherever no line spans a y position.
2. **Groups.** Consecutive bands are merged while they leave a common vertical *gutter*
   (an x interval, at least :data:`GUTTER_LINE_HEIGHTS` line heights wide, that no line
   of the group covers, between ink on both sides). A header or a page number that
   reaches into the gutter ends a group, so it is kept in place instead of being
   interleaved with the columns; a single-column run of lines is one group.
3. **Columns.** A group with gutters is split at them. Columns are read left to right,
   or right to left when the group's text is mostly Arabic (the direction is decided
   per group, from its script). Each column is ordered recursively, so a column may hold
   its own sub-columns.
4. **Tables.** A group whose columns hold short cells rather than running text, or
   that has a column of numbers (:func:`_looks_like_table`), is read row by row
   instead, cells in the row's direction.
5. **Blocks.** Within a column, a new block starts where Tesseract started one or where
   the gap between lines exceeds :data:`BLOCK_GAP_LINE_HEIGHTS` line heights.

Works on any objects with ``bbox = (x0, y0, x1, y1)`` and ``words`` (each with
``text``), such as :class:`ocr.engine.tesseract.Line`.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median
from typing import Protocol, TypeVar

from .text import ARABIC_LETTER_RE, LATIN_LETTER_RE

GUTTER_LINE_HEIGHTS = 1.2  # narrowest column gap, in median line heights
GUTTER_KEEP = 0.6  # a band joins columns when each gutter keeps this share of its width
BLOCK_GAP_LINE_HEIGHTS = 0.9  # a larger vertical gap inside a column starts a block
TABLE_FILL = 0.55  # text columns have most lines filling at least this share
NUMBER_COLUMN_LINES = 3  # a column of numbers makes a table from this many lines
NUMBER_COLUMN_SHARE = 0.6  # ... when this share of its lines are numbers


class _Word(Protocol):
    text: str


class _Line(Protocol):
    block: int
    bbox: tuple[int, int, int, int]
    words: Sequence[_Word]


L = TypeVar("L", bound=_Line)


def line_text(line: _Line) -> str:
    return " ".join(w.text for w in line.words)


def text_is_rtl(text: str) -> bool:
    """True when the letters of ``text`` are mostly Arabic."""
    return len(ARABIC_LETTER_RE.findall(text)) > len(LATIN_LETTER_RE.findall(text))


def is_rtl(lines: Sequence[_Line]) -> bool:
    """True when the lines' letters are mostly Arabic."""
    return text_is_rtl(" ".join(line_text(ln) for ln in lines))


def order_blocks(lines: Sequence[L]) -> list[list[L]]:
    """Lines grouped into blocks, both in reading order (see the module docstring)."""
    if not lines:
        return []
    height = median(ln.bbox[3] - ln.bbox[1] for ln in lines)
    return _order(list(lines), max(1.0, height), depth=0)


def _order(lines: list[L], height: float, depth: int) -> list[list[L]]:
    blocks: list[list[L]] = []
    for group in _groups(_bands(lines), height):
        gutters = _gutters(group, height)
        if not gutters or depth > 4:
            blocks.extend(_split_blocks(sorted(group, key=lambda ln: ln.bbox[1]), height))
            continue
        columns = _columns(group, gutters)
        rtl = is_rtl(group)
        if _looks_like_table(columns):
            blocks.extend(_table_rows(group, rtl))
            continue
        for column in reversed(columns) if rtl else columns:
            blocks.extend(_order(column, height, depth + 1))
    return blocks


def _bands(lines: list[L]) -> list[list[L]]:
    """Lines cut into horizontal bands at y positions that no line covers."""
    bands: list[list[L]] = []
    bottom = None
    for line in sorted(lines, key=lambda ln: ln.bbox[1]):
        if bottom is not None and line.bbox[1] < bottom:
            bands[-1].append(line)
            bottom = max(bottom, line.bbox[3])
        else:
            bands.append([line])
            bottom = line.bbox[3]
    return bands


def _gutters(lines: Sequence[_Line], height: float) -> list[tuple[int, int]]:
    """Uncovered x intervals between the lines' ink, at least a gutter wide."""
    spans = sorted((ln.bbox[0], ln.bbox[2]) for ln in lines)
    gutters = []
    right = spans[0][1]
    for x0, x1 in spans[1:]:
        if x0 - right >= GUTTER_LINE_HEIGHTS * height:
            gutters.append((right, x0))
        right = max(right, x1)
    return gutters


def _groups(bands: list[list[L]], height: float) -> list[list[L]]:
    """Consecutive bands merged while they share a gutter (see the module docstring)."""
    groups: list[list[L]] = []
    for band in bands:
        if groups and _joins(groups[-1], band, height):
            groups[-1] = groups[-1] + band
        else:
            groups.append(list(band))
    return groups


def _joins(group: list[L], band: list[L], height: float) -> bool:
    """Whether ``band`` continues ``group``: it keeps to the group's columns (every
    gutter keeps :data:`GUTTER_KEEP` of its width, so a centred page number below two
    columns does not join them, while a slightly longer line does), or, for a group
    without gutters yet, the two together have one (narrow lines side by side) or
    neither has any (a single column goes on)."""
    gutters = _gutters(group, height)
    merged = _gutters(group + band, height)
    if gutters:
        return all(
            any(min(r, right) - max(left, a) >= GUTTER_KEEP * (right - left) for a, r in merged)
            for left, right in gutters
        )
    return bool(merged) or not _gutters(band, height)


def _columns(lines: list[L], gutters: list[tuple[int, int]]) -> list[list[L]]:
    """Lines split at the gutters, left to right."""
    columns: list[list[L]] = [[] for _ in range(len(gutters) + 1)]
    for line in lines:
        centre = (line.bbox[0] + line.bbox[2]) / 2
        index = sum(centre > (a + b) / 2 for a, b in gutters)
        columns[index].append(line)
    return [c for c in columns if c]


def _looks_like_table(columns: list[list[L]]) -> bool:
    """Columns of short cells (few lines filling their column) are a table's, and so are
    columns beside a column of numbers (an invoice's amounts, whose cells are all about
    as wide as their column)."""
    if len(columns) < 2:
        return False
    if any(_numbers_column(column) for column in columns):
        return True
    filled = total = 0
    for column in columns:
        x0 = min(ln.bbox[0] for ln in column)
        x1 = max(ln.bbox[2] for ln in column)
        width = max(1, x1 - x0)
        total += len(column)
        filled += sum(ln.bbox[2] - ln.bbox[0] >= TABLE_FILL * width for ln in column)
    return filled < 0.5 * total


def _numbers_column(column: Sequence[_Line]) -> bool:
    """A column of at least :data:`NUMBER_COLUMN_LINES` lines, most of them numbers (no
    letters, a digit)."""
    if len(column) < NUMBER_COLUMN_LINES:
        return False
    numbers = 0
    for line in column:
        text = line_text(line)
        if any(ch.isdigit() for ch in text) and not (
            ARABIC_LETTER_RE.search(text) or LATIN_LETTER_RE.search(text)
        ):
            numbers += 1
    return numbers >= NUMBER_COLUMN_SHARE * len(column)


def _table_rows(lines: list[L], rtl: bool) -> list[list[L]]:
    """One block per table row; cells ordered in the row's direction."""
    rows = []
    for band in _bands(lines):
        row_rtl = is_rtl(band) if any(line_text(ln).strip() for ln in band) else rtl
        rows.append(sorted(band, key=lambda ln: -ln.bbox[2] if row_rtl else ln.bbox[0]))
    return rows


def _split_blocks(lines: list[L], height: float) -> list[list[L]]:
    """A column's lines (top to bottom) cut into blocks at Tesseract blocks or gaps."""
    blocks: list[list[L]] = []
    for line in lines:
        if blocks:
            prev = blocks[-1][-1]
            gap = line.bbox[1] - prev.bbox[3]
            if line.block == prev.block and gap <= BLOCK_GAP_LINE_HEIGHTS * height:
                blocks[-1].append(line)
                continue
        blocks.append([line])
    return blocks
