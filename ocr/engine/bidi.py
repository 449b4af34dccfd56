"""The logical order of a line's words, from where they sit on the page.

Text is stored in logical order (the order it is typed and read), while a line is printed
in visual order: the Unicode bidirectional algorithm lays an Arabic line out from right
to left, but a run of Latin text inside it, with the numbers that follow that text,
from left to right (``SA03 8000 0000 6080``, ``Circular No. 47``). Tesseract returns the
words of a right-to-left line from right to left, so such a run came out backwards
(``6080 0000 8000 SA03``). :func:`logical_order` inverts the algorithm's layout for one
line, from the words' boxes:

* in a right-to-left line, a word with Latin letters starts a left-to-right run that goes
  on, rightwards, over Latin words, numbers and symbols (numbers after Latin text take
  its direction); the runs and the remaining words are read from right to left. A number
  next to Arabic words is a run of its own (Arabic numbers keep their place among the
  Arabic words: ``٤٧ ٢٠٢٥`` typed after an Arabic word prints its groups right to left);
* in a left-to-right line, Arabic words and the numbers between them (and Arabic-Indic
  numbers just left of them) form a right-to-left run (read from right to left);
  everything else is read from left to right.

Punctuation at a word's edge belongs to the line's direction, not the word's
(:func:`edge_punctuation`): ``22%`` in an Arabic line prints as ``%22`` and the period
after an e-mail address at the end of an Arabic sentence prints on its left
(``.info@example.com``); an Arabic word ending an English sentence came back from
Tesseract with its period in front (``.مدارس``).

The visual layout cannot always be inverted (``ABC 12`` on paper may have been typed
either way); these rules give back what documents usually hold: Latin names and codes
with their numbers, Arabic labels with theirs.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Protocol, TypeVar

from .text import ARABIC_LETTER_RE, LATIN_LETTER_RE


class _Word(Protocol):
    text: str
    bbox: tuple[int, int, int, int]


W = TypeVar("W", bound=_Word)


def strength(text: str) -> str:
    """``"R"`` (has Arabic letters), ``"L"`` (Latin letters) or ``"N"`` (neither)."""
    if ARABIC_LETTER_RE.search(text):
        return "R"
    if LATIN_LETTER_RE.search(text):
        return "L"
    return "N"


EDGE_PUNCTUATION = frozenset(".,;:!?%٪،؛")


def edge_punctuation(text: str, rtl: bool) -> str:
    """``text`` (one word as read) with the punctuation at its front moved to its end,
    where a word of the other direction than its line had it (see the module docstring)."""
    kind = strength(text)
    if (rtl and kind == "R") or (not rtl and kind != "R"):
        return text
    lead = 0
    while lead < len(text) and text[lead] in EDGE_PUNCTUATION:
        lead += 1
    if lead == 0 or lead == len(text):
        return text
    return text[lead:] + text[:lead][::-1]


def logical_order(words: Sequence[W], rtl: bool) -> list[W]:
    """``words`` of one line, as Tesseract ordered them, in logical order.

    Tesseract's own order cannot always be trusted: it takes the direction of the page
    (or of a line's numbers) for the line's, reading an English line in an Arabic page
    right to left, and a right-to-left line's run of Latin words and numbers backwards.
    So a left-to-right line is ordered from its boxes, a right-to-left line too when
    Tesseract read it mostly left to right (see the module docstring).
    """
    if not words:
        return []
    x0, x1 = min(w.bbox[0] for w in words), max(w.bbox[2] for w in words)
    y0, y1 = min(w.bbox[1] for w in words), max(w.bbox[3] for w in words)
    if x1 - x0 < y1 - y0:
        return list(words)  # a line running down the page: its boxes say nothing of order
    if not rtl:
        return _ltr_order(words)
    # Tesseract orders a line of Arabic words and numbers left to right when it takes the
    # numbers for the line's direction; then start from the boxes. Otherwise its order
    # stands: it is right where a word's box is not (a box stretched over its neighbour).
    centres = [w.bbox[0] + w.bbox[2] for w in words]
    leftwards = sum(b < a for a, b in itertools.pairwise(centres))
    if 2 * leftwards < len(words) - 1 or _apart(words):
        words = sorted(words, key=lambda w: -w.bbox[2])
    out: list[W] = []
    run: list[W] = []
    for word in [*words, None]:
        if word is not None and strength(word.text) != "R":
            run.append(word)
            continue
        out.extend(_run_order(run))
        run = []
        if word is not None:
            out.append(word)
    return out


def _apart(words: Sequence[W]) -> bool:
    """Whether no two boxes of the line overlap by more than a quarter of the narrower:
    then the boxes say the order (a number read again, or found in ink Tesseract had
    left out, may sit anywhere in Tesseract's order)."""
    spans = sorted((w.bbox[0], w.bbox[2]) for w in words)
    for (a0, a1), (b0, b1) in itertools.pairwise(spans):
        if min(a1, b1) - b0 > 0.25 * max(1, min(a1 - a0, b1 - b0)):
            return False
    return True


def _ltr_order(words: Sequence[W]) -> list[W]:
    """A left-to-right line: boxes left to right, each run of Arabic words (with the
    numbers between them) right to left."""
    visual = sorted(words, key=lambda w: w.bbox[0])
    kinds = [strength(w.text) for w in visual]
    out: list[W] = []
    i = 0
    while i < len(visual):
        if kinds[i] != "R":
            out.append(visual[i])
            i += 1
            continue
        last = i  # the run goes on to the last Arabic word before a Latin one
        for k in range(i + 1, len(visual)):
            if kinds[k] == "L":
                break
            if kinds[k] == "R":
                last = k
        # Arabic-Indic numbers printed just left of the run end it (they follow Arabic).
        tail: list[W] = []
        while out and strength(out[-1].text) == "N" and _eastern(out[-1].text):
            tail.append(out.pop())
        out.extend(visual[i : last + 1][::-1] + tail)
        i = last + 1
    return out


def _eastern(text: str) -> bool:
    return any("\u0660" <= ch <= "\u0669" or "\u06f0" <= ch <= "\u06f9" for ch in text)


def _run_order(run: list[W]) -> list[W]:
    """A right-to-left line's run of non-Arabic words in logical order: from its leftmost
    Latin word rightwards one left-to-right unit, then the words left of it, right to
    left."""
    visual = sorted(run, key=lambda w: w.bbox[0] + w.bbox[2])
    first = next((i for i, w in enumerate(visual) if strength(w.text) == "L"), None)
    if first is None:
        return sorted(run, key=lambda w: -(w.bbox[0] + w.bbox[2]))
    return visual[first:] + visual[:first][::-1]


def insert_at(words: list[W], new: W, rtl: bool) -> None:
    """Put ``new`` among ``words`` (one line's, in order) where its box places it."""
    centre = new.bbox[0] + new.bbox[2]
    for index, word in enumerate(words):
        here = word.bbox[0] + word.bbox[2]
        if (rtl and here < centre) or (not rtl and here > centre):
            words.insert(index, new)
            return
    words.append(new)
