"""Numbers: number-like words read again with Portico's digit model.

Why: the ``ara`` model (tessdata_fast, what Debian ships) has only two Arabic-Indic
digits, ٠ and ١, and neither ٫ nor ٬: it cannot read ٢ to ٩ at all. With ``ara+eng``
Tesseract reads them as letters, as Western digits (``٣٥٠`` → ``١0٠١``) or not at all
(``٤٧`` dropped), and short Western numbers in Arabic lines suffer too (``47`` → ``7``).

What (:func:`read_numbers`, on the lines of the first reading, in place):

1. **Candidates**, per line: in right-to-left lines, words holding a digit of any system,
   words without Arabic letters read below :data:`SUSPECT_CONF` and short Arabic
   "words" read below :data:`ARABIC_SUSPECT_CONF` (a number the Arabic model turned into
   letters); in left-to-right lines, numbers read below :data:`SUSPECT_CONF` or in
   Eastern digits; in any line with Arabic, Latin capitals that all look like
   Arabic-Indic digits (:func:`_lookalike`); and ink inside an Arabic line that no word
   covers (a number of two digits or more, or a Latin word, Tesseract dropped). A missed
   region (:func:`ocr.engine.tesseract.missed_regions`) whose reading was too unsure to
   keep is tried as a number too (a table cell). In right-to-left lines, the broken
   pieces of one number are joined first (:func:`_join_pieces`).
2. Each candidate box is read with ``tessdata/digits.traineddata`` (trained by
   ``bin/train_digit_model.py`` on Western, Arabic-Indic and Persian digits and the
   separators ``٫ ٬ , . / - : % ٪ +``) twice, restricted to one digit system each time
   (Arabic-Indic or Western), and, where the first reading had no Arabic letters, with
   the English model (``SA03``, ``A4``, ``No.``; a Latin word only with it). The most confident reading replaces
   the first when :func:`_replaces` says so: better by :data:`MARGIN`, or its digits
   matching the ink where the first's do not, or the first :func:`broken` and the ink
   agreeing. One number is therefore never in two digit systems.
3. **Persian**: the digits ۰ ۱ ۲ ۳ ۷ ۸ ۹ look exactly like ٠ ١ ٢ ٣ ٧ ٨ ٩; only ۴ ۵ ۶
   differ. A page whose numbers show more Persian ۴ ۵ ۶ than Arabic ٤ ٥ ٦ (or whose text
   has Persian letters), and whose words do not read as Arabic, gets all its
   Arabic-Indic digits in the Persian code points (:func:`persian_page`).

Reading order of numbers inside lines is :mod:`ocr.engine.bidi`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from . import bidi, glyphs, runs
from .lines import Line, Word, core_rows, union
from .results import BBox
from .text import ARABIC_LETTER_RE, LATIN_LETTER_RE

TESSDATA = Path(__file__).with_name("tessdata")
DIGIT_LANG = "digits"
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ANY_DIGIT = frozenset("0123456789" + ARABIC_DIGITS + PERSIAN_DIGITS)
WHITELISTS = {
    "western": "0123456789.,/-:%+",
    "eastern": ARABIC_DIGITS + "۴۵۶" + "٫٬.,/-:٪%+",
}
LOOKALIKES = frozenset("YEIOATVWFNLPSr¥£")  # Latin the English model makes of ٢٣٤٥٦٧٨
SUSPECT_CONF = 90.0  # digits-and-symbols words in Arabic lines below this get a second look
ARABIC_SUSPECT_CONF = 70.0  # short Arabic words below this may be misread numbers
ARABIC_SUSPECT_LETTERS = 4
MIN_CONF = 70.0  # a digit reading less sure than this never replaces anything
ARABIC_TO_DIGITS_CONF = 85.0  # ... nor one replacing a word read as Arabic letters
GAP_MIN_CONF = 75.0  # a number found in uncovered ink must be this sure
GAP_LATIN_CONF = 90.0  # and a Latin word found there (dropped from an Arabic line) this
BROKEN_CONF = 50.0  # a first reading less sure than this is taken for broken
BROKEN_MIN_CONF = 40.0  # a digit reading this sure replaces a broken one if the ink agrees
ENGLISH_MIN_CONF = 80.0  # on Arabic pages: ٣٤٩٥ reads "YEIO" in English, unsurely
TALL_PIECE = 0.6  # of the tallest piece: a digit (٥ too); ٠ and ٫ ٬ are smaller
SPLIT_GAP = 0.25  # a digit reading's words closer than this (line heights) are one number
PIECE_GAP = 0.2  # pieces of one number closer than this (line heights) are joined
BROKEN_GAP = 1.0
WHOLE_GAP = 0.6  # ... two numbers read whole (read again glyph by glyph, kept apart if unsure)  # ... two broken pieces closer than this
GLYPH_TRUST = 70.0  # a glyph reading this sure wins over a digit model reading it differs from
MARGIN = 5.0  # a new reading must beat the first by this much (confidence points)
MAX_CANDIDATES = 120  # bound the work on pathological pages
PERSIAN_LETTERS = frozenset("پچژگکی")
ARABIC_MARKERS = 0.08  # share of a page's words with ال or ة above which it is Arabic
_TO_PERSIAN = str.maketrans(ARABIC_DIGITS, PERSIAN_DIGITS)
_TO_ARABIC = str.maketrans(PERSIAN_DIGITS, ARABIC_DIGITS)

# (image crop, kind) -> [(text, confidence, box in the crop)]; kind is "western",
# "eastern" or "eng". Supplied by ocr.engine.tesseract, which owns the instances.
Reader = Callable[[Image.Image, str], list[tuple[str, float, BBox]]]


def read_numbers(
    image: Image.Image, gray: np.ndarray, lines: list[Line], read: Reader, *, page_rtl: bool
) -> int:
    """Re-read the number-like words of ``lines`` and add the numbers Tesseract left out
    (see the module docstring), in place. ``image``/``gray``: the page Tesseract read.
    Returns how many readings changed the lines."""
    ink = ink_map(gray)
    budget = MAX_CANDIDATES
    # Eastern digits are printed on pages with Arabic script only.
    arabic = any(ARABIC_LETTER_RE.search(w.text) for line in lines for w in line.words)
    systems = ("eastern", "western") if arabic else ("western",)
    changed = 0
    for line in lines:
        rtl = line_is_rtl(line, page_rtl)
        top, bottom = core_rows(line)
        height = max(8, bottom - top)
        words: list[Word] = []
        arabic_line = any(ARABIC_LETTER_RE.search(w.text) for w in line.words)
        source = _join_pieces(line.words, height) if rtl else line.words
        done: set[int] = set()
        if rtl:  # numbers Tesseract cut apart, read whole from their ink
            source, done = runs.whole_numbers(image, ink, source, (top, bottom), systems)
            changed += len(done)
        for joined in source:
            if id(joined) in done:
                words.append(joined)
            for word in () if id(joined) in done else [joined]:
                suspect = arabic_line and _lookalike(word.text)
                if budget > 0 and (suspect or is_candidate(word.text, word.confidence, rtl)):
                    budget -= 1
                    arabic_word = _arabic_word(word.text)
                    found, conf, kind = best_reading(
                        image,
                        word.bbox,
                        height,
                        read,
                        with_english=not arabic_word,
                        # A Latin word read with some confidence (SABIC) is read again in
                        # English only, unless its letters look like Arabic-Indic digits.
                        systems=() if _latin_word(word) and not suspect else systems,
                        english_min=ENGLISH_MIN_CONF if arabic else 0.0,
                    )
                    if kind != "eng":
                        found = _close_up(found, height)
                    if arabic_word and not _digits_fit_ink(ink, word.bbox, found, conf):
                        found = []
                    if found and _replaces(word, found, conf, kind, ink, suspect):
                        words.extend(_in_line_order(found, rtl))
                        changed += 1
                        continue
                words.append(word)
        if budget > 0 and rtl:  # Tesseract drops numbers in Arabic lines, not English ones
            for box in _gaps(ink, line, words, lines, (top, bottom))[:budget]:
                budget -= 1
                found, conf, kind = best_reading(
                    image, box, height, read, with_english=True, systems=systems
                )
                if kind != "eng":
                    found = _close_up(found, height)
                text = " ".join(t for t, _, _ in found)
                latin = _letters(text)[1] >= 2 and conf >= GAP_LATIN_CONF
                # Specks read as a digit or two (٠ is a dot): a found number needs two tall
                # digits.
                number = tall_digits(text) >= 2 and _pieces_fit(ink, box, text)
                if found and conf >= GAP_MIN_CONF and (number or latin):
                    for new in _in_line_order(found, rtl):
                        bidi.insert_at(words, new, rtl)
                    changed += 1
        line.words = words
        line.bbox = union([line.bbox, *(w.bbox for w in words)])
    return changed


def _arabic_word(text: str) -> bool:
    """A word read as Arabic letters rather than a number with a letter stuck to it
    (``5445١1/١19/1ه``): more Arabic letters than digits."""
    return _letters(text)[0] > sum(ch in ANY_DIGIT for ch in text)


def broken(text: str, confidence: float) -> bool:
    """A first reading that cannot be a number as printed: unsure, digits of two systems
    (``١1/17.70``), or digits with Latin letters (``8/79`` is fine, ``0١7V`` is not)."""
    if confidence < BROKEN_CONF:
        return True
    western = any("0" <= ch <= "9" for ch in text)
    eastern = _eastern(text)
    return (western and eastern) or (has_digit(text) and bool(_letters(text)[1]) and eastern)


def _join_pieces(words: list[Word], height: int) -> list[Word]:
    """A right-to-left line's words with the broken pieces of one number joined: Tesseract
    cuts an Arabic-Indic date or amount it cannot read into "words" at its slashes and
    separators (``WF)`` ``VO`` for ۱۴۰۳/۰۶/۲۵). Neighbours without Arabic letters, less
    than :data:`PIECE_GAP` line heights apart, one of them :func:`broken` (or both
    broken, less than :data:`BROKEN_GAP` apart: the digits between them may be in no
    word at all), become one word (read again as a whole)."""
    out: list[Word] = []
    for word in words:
        if out and _piece(out[-1]) and _piece(word):
            prev = out[-1]
            gap = max(prev.bbox[0], word.bbox[0]) - min(prev.bbox[2], word.bbox[2])
            pieces = broken(prev.text, prev.confidence) + broken(word.text, word.confidence)
            if (pieces == 2 and gap <= BROKEN_GAP * height) or (
                pieces == 1 and gap <= PIECE_GAP * height
            ):
                left, right = (prev, word) if prev.bbox[0] > word.bbox[0] else (word, prev)
                out[-1] = Word(
                    left.text + right.text,
                    min(prev.confidence, word.confidence),
                    union([prev.bbox, word.bbox]),
                )
                continue
        out.append(word)
    return out


def _piece(word: Word) -> bool:
    return not _letters(word.text)[0] and (has_digit(word.text) or word.confidence < BROKEN_CONF)


def _latin_word(word: Word) -> bool:
    """Two Latin letters or more, no digit, read at :data:`BROKEN_CONF` or more (``Tee``
    at 44 was ٦٠٠٦)."""
    text = word.text
    return word.confidence >= BROKEN_CONF and _letters(text)[1] >= 2 and not has_digit(text)


def _lookalike(text: str) -> bool:
    """Capital Latin letters only, all of them shapes the English model makes of
    Arabic-Indic digits (``YEIOOAATIYITY`` for ٣٤٩٥٥٨٠٨٦١٢١٦١٣)."""
    letters = [ch for ch in text if ch.isalpha()]
    return len(letters) >= 3 and all(ch in LOOKALIKES for ch in letters)


def _replaces(
    word: Word,
    found: list[tuple[str, float, BBox]],
    conf: float,
    kind: str,
    ink: np.ndarray,
    suspect: bool = False,
) -> bool:
    """Whether a second reading replaces ``word``: sure enough and better than the first
    by :data:`MARGIN`, or sure enough with its tall digits matching the tall pieces of
    ink where the first's do not; or, where the first cannot be right (:func:`broken`, or Latin
    capitals that look like Arabic-Indic digits inside an Arabic line), a digit reading
    at :data:`BROKEN_MIN_CONF` whose tall pieces of ink match its tall digits."""
    if conf >= MIN_CONF and conf >= word.confidence + MARGIN:
        return True
    box = union([word.bbox, *(b for _, _, b in found)])
    text = "".join(t for t, _, _ in found)
    if conf >= MIN_CONF and _pieces_fit(ink, box, text) and not _pieces_fit(ink, box, word.text):
        return True  # the ink has the digits of the second reading, not the first's (7 / 37)
    if kind == "eng" or conf < BROKEN_MIN_CONF:
        return False
    if not (suspect or broken(word.text, word.confidence)):
        return False
    return _pieces_fit(ink, box, text)


def _close_up(found: list[tuple[str, float, BBox]], height: int) -> list[tuple[str, float, BBox]]:
    """A digit reading's words (left to right) with the pieces of one number joined: the
    digit model splits ``٣٥٠٫٧٥`` at its separator now and then, and pieces less than
    :data:`SPLIT_GAP` line heights apart are one number (words are a space apart)."""
    out: list[tuple[str, float, BBox]] = []
    for text, conf, box in found:
        if out and box[0] - out[-1][2][2] <= SPLIT_GAP * height:
            prev_text, prev_conf, prev_box = out[-1]
            out[-1] = (prev_text + text, min(prev_conf, conf), union([prev_box, box]))
        else:
            out.append((text, conf, box))
    return out


def _in_line_order(found: list[tuple[str, float, BBox]], rtl: bool) -> list[Word]:
    """One crop's words (read left to right) in the line's order."""
    words = [Word(t, c, b) for t, c, b in found]
    return words[::-1] if rtl else words


def _digits_fit_ink(
    ink: np.ndarray, box: BBox, found: list[tuple[str, float, BBox]], conf: float
) -> bool:
    """Whether a digit reading of a word the Arabic model read as letters is believable:
    sure enough (:data:`ARABIC_TO_DIGITS_CONF`, more for one digit), and with as many
    tall pieces of ink as tall digits. Arabic-Indic digits stand apart, while an Arabic
    word is one joined stroke or a few: Amiri's يمكن read as ٣٣ is one piece for two
    digits."""
    text = "".join(t for t, _, _ in found)
    tall = [ch for ch in text if ch in ANY_DIGIT and ch not in "٠۰"]
    need = ARABIC_TO_DIGITS_CONF + (7.0 if len(tall) <= 1 else 0.0)
    if not found or conf < need or not tall:
        return False
    return _pieces_fit(ink, box, text)


def _pieces_fit(ink: np.ndarray, box: BBox, text: str) -> bool:
    """As many tall pieces of ink in ``box`` as tall digits in ``text`` (within a
    quarter)."""
    tall = [ch for ch in text if (ch in ANY_DIGIT and ch not in "٠۰") or ch == "/"]
    if not any(ch in ANY_DIGIT for ch in tall):
        return False
    x0, y0, x1, y1 = box
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink[y0:y1, x0:x1], connectivity=8)
    heights = stats[1:count, cv2.CC_STAT_HEIGHT]
    if not len(heights):
        return False
    pieces = int((heights >= TALL_PIECE * heights.max()).sum())
    return abs(pieces - len(tall)) <= len(tall) // 4


def line_is_rtl(line: Line, page_rtl: bool) -> bool:
    """A line's direction from its letters; a line of numbers takes the page's."""
    arabic, latin = _letters(" ".join(w.text for w in line.words))
    return arabic > latin if arabic or latin else page_rtl


def _gaps(
    ink: np.ndarray, line: Line, words: list[Word], lines: list[Line], rows: tuple[int, int]
) -> list[BBox]:
    """Uncovered ink inside the line (and just beside it) on the line's core rows."""
    top, bottom = rows
    covered = [w.bbox for w in words]
    for other in lines:
        if other is not line and other.bbox[1] < bottom and other.bbox[3] > top:
            covered.extend(w.bbox for w in other.words)
    pad = (bottom - top) // 2
    return uncovered_boxes(ink, rows, (line.bbox[0] - pad, line.bbox[2] + pad), covered)


def tall_digits(text: str) -> int:
    """Digits in ``text`` other than the Eastern zero (a dot, like a speck)."""
    return sum(ch in ANY_DIGIT and ch not in "٠۰" for ch in text)


def has_digit(text: str) -> bool:
    return any(ch in ANY_DIGIT for ch in text)


def _letters(text: str) -> tuple[int, int]:
    return len(ARABIC_LETTER_RE.findall(text)), len(LATIN_LETTER_RE.findall(text))


def is_candidate(text: str, confidence: float, rtl: bool) -> bool:
    """Whether a recognised word deserves a second reading as a number."""
    if not rtl:  # English lines read Western numbers well; Eastern digits there are rare
        return has_digit(text) and (confidence < SUSPECT_CONF or _eastern(text))
    if has_digit(text):
        return True
    arabic, _ = _letters(text)
    if arabic == 0:
        return confidence < SUSPECT_CONF
    return arabic <= ARABIC_SUSPECT_LETTERS and confidence < ARABIC_SUSPECT_CONF


def _eastern(text: str) -> bool:
    return any(ch in ARABIC_DIGITS or ch in PERSIAN_DIGITS for ch in text)


def ink_map(gray: np.ndarray) -> np.ndarray:
    """Ink (255) on paper (0), Otsu's threshold over the page."""
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return ink


def uncovered_boxes(
    ink: np.ndarray, rows: tuple[int, int], span: tuple[int, int], covered: list[BBox]
) -> list[BBox]:
    """Word-sized blobs of ink between ``rows`` and within ``span`` (x) that no box of
    ``covered`` holds: what Tesseract left out of a line."""
    top, bottom = rows
    height = max(1, bottom - top)
    x0, x1 = max(0, span[0]), min(ink.shape[1], span[1])
    if x1 - x0 < 2 or bottom <= top:
        return []
    band = ink[top:bottom, x0:x1].copy()
    grow = max(1, height // 5)
    for bx0, _, bx1, _ in covered:
        band[:, max(0, bx0 - grow - x0) : max(0, bx1 + grow - x0)] = 0
    if cv2.countNonZero(band) < 0.05 * height * height:
        return []
    smear = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(0.45 * height)), 1))
    count, _, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(band, smear), connectivity=8)
    boxes = []
    for x, y, w, h, _ in stats[1:count]:
        if h >= 0.5 * height and w >= 0.4 * height:
            ink_share = cv2.countNonZero(band[y : y + h, x : x + w]) / float(w * h)
            if ink_share >= 0.1:
                boxes.append((int(x0 + x), int(top + y), int(x0 + x + w), int(top + y + h)))
    return boxes


def best_reading(
    image: Image.Image,
    box: BBox,
    height: int,
    read: Reader,
    *,
    with_english: bool,
    systems: tuple[str, ...] = ("eastern", "western"),
    english_min: float = 0.0,
) -> tuple[list[tuple[str, float, BBox]], float, str]:
    """The most confident reading of ``box``: (words in page pixels, mean confidence,
    kind). Digit readings count only when they are numbers; English ones when they hold
    a Latin letter or a digit, and are at least ``english_min`` sure."""
    area = runs.crop_box(box, height, image.size)
    crop = image.crop(area)
    best: tuple[list[tuple[str, float, BBox]], float, str] = ([], -1.0, "")
    gray = np.asarray(crop.convert("L"))
    for kind in (*systems, "eng") if with_english else systems:
        words = read(crop, kind)
        if kind != "eng":
            words = _glyph_check(words, glyphs.read(gray, kind))
        if kind == "eastern":
            words = [(_stray_marks(t), c, b) for t, c, b in words]
        text = " ".join(t for t, _, _ in words)
        if not words or (kind != "eng" and not runs.number_text(text)):
            continue
        if kind == "eng" and not (has_digit(text) or _letters(text)[1]):
            continue
        conf = _mean(words)
        if kind == "eng" and conf < english_min:
            continue
        if conf > best[1]:
            placed = [
                (t, c, (b[0] + area[0], b[1] + area[1], b[2] + area[0], b[3] + area[1]))
                for t, c, b in words
            ]
            best = (placed, conf, kind)
    return best


_DASH_ZERO = re.compile(r"(?<=[٠-٩۴-۶])-(?=[٠-٩۴-۶])")
_STRAY_THOUSANDS = re.compile(r"٬(?![٠-٩۴-۶]{3}(?:[٬٫]|$|[^٠-٩۴-۶]))")


def _stray_marks(text: str) -> str:
    """An Eastern reading with the digit model's usual slips undone: the small ٠ read as
    a dash between two digits (``٢-٢٥`` for ``٢٠٢٥``; Arabic-Indic dates and phone
    numbers are written with slashes or nothing between their digits), and a thousands
    separator ٬ that is not followed by a group of three digits (a speck or the tail of
    a digit: ``٠٥٧٥٤٬٦٠٦٨٩``)."""
    return _STRAY_THOUSANDS.sub("", _DASH_ZERO.sub("٠", text))


def _glyph_check(
    words: list[tuple[str, float, BBox]], by_glyph: list[tuple[str, float, BBox]]
) -> list[tuple[str, float, BBox]]:
    """The digit model's reading of a crop, or the glyph reading of the same crop
    (:mod:`ocr.engine.glyphs`) where the two differ and the glyph reading is at least
    :data:`GLYPH_TRUST` sure."""
    if not by_glyph or _mean(by_glyph) < GLYPH_TRUST:
        return words
    if "".join(t for t, _, _ in words) == "".join(t for t, _, _ in by_glyph):
        return words
    return by_glyph


def _mean(words: list[tuple[str, float, BBox]]) -> float:
    scored = [(c, len(t)) for t, c, _ in words if c >= 0]
    total = sum(n for _, n in scored)
    return sum(c * n for c, n in scored) / total if total else 0.0


def persian_page(texts: list[str]) -> bool:
    """Whether the page's Arabic-Indic digits are Persian ones (see the module doc).

    Never on a page whose words read as Arabic (:data:`ARABIC_MARKERS` of its words
    start with the article ال or hold ة, which Persian hardly uses): the digit model
    reads ٥ as ۵ as often as not, so the digits alone would turn Arabic pages Persian."""
    joined = "".join(texts)
    words = [w for text in texts for w in text.split() if ARABIC_LETTER_RE.search(w)]
    markers = sum(w.startswith("ال") or "ة" in w for w in words)
    if markers >= max(2, ARABIC_MARKERS * len(words)):
        return False
    persian_shapes = sum(ch in "۴۵۶" for ch in joined)
    arabic_shapes = sum(ch in "٤٥٦" for ch in joined)
    if persian_shapes or arabic_shapes:
        return persian_shapes > arabic_shapes
    return any(ch in PERSIAN_LETTERS for ch in joined)


def settle_eastern(text: str, persian: bool) -> str:
    """``text`` with its Eastern digits all Persian or all Arabic-Indic."""
    return text.translate(_TO_PERSIAN if persian else _TO_ARABIC)
