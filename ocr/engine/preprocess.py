"""Image clean-up before recognition, chosen per page from what the page needs.

Public API::

    clean(gray: np.ndarray, dpi: int = 300) -> tuple[np.ndarray, PageStats, list[str]]
    measure(gray: np.ndarray) -> PageStats

:func:`clean` measures the page step by step (the background map on a quarter-size copy,
the rest at full size; about 0.3 CPU s for A4 at 300 dpi): the paper's brightness and
how evenly it is lit (a background map from a morphological closing that erases the
text), how dark the ink is against it, the noise on the paper, ruling lines, and
isolated specks. It applies only the steps the measurements call for, in this order,
and reports their names:

``illumination``
    The paper is unevenly lit (phone photos, shadows, dark edges) or not white (tinted
    or grey paper): divide by the background map, so paper becomes white everywhere
    and a shadowed edge no longer looks like ink.
``contrast``
    The ink is grey (faded toner, photocopies, photos): stretch the levels so ink is
    near black.
``rules``
    Ruling lines (table borders, underlines, separators) are erased (:func:`_rules`).
``specks``
    Dust and fax specks: small dark components far from any text are erased; on such a
    dusty page, so are marks next to text much smaller than the page's typical letter
    dot (see :func:`_specks`; the dots of Arabic letters stay).
``denoise``
    Sensor or JPEG noise on the paper (the spread of the paper's levels away from the
    ink): a 3x3 median filter (keeps Arabic dots, which are several pixels wide at OCR
    resolutions), after the specks so that it does not blur dust and dots together.

Pages that need nothing (clean renders, most born-digital scans) are returned as they
are, so clean pages read exactly as before. Every step works on whole arrays with
OpenCV; there is no per-pixel Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

WORK_SCALE = 0.25  # measurements and the background map use a quarter-size copy
UNEVEN_SPREAD = 28  # background levels spread wider than this (p98 - p2): relight
GREY_PAPER = 225  # paper darker than this: relight
GREY_INK = 70  # ink lighter than this (10th percentile of ink): stretch
NOISE_SIGMA = 3.0  # paper noise above this (robust sigma): median filter
SPECKS_PER_MPX = 15.0  # isolated specks per megapixel above this: erase them
SPECK_SIDE = 0.5  # components smaller than this many character heights may be specks
RULE_CHARS = 8  # an ink run this many character heights long is a ruling line
DOT_SHARE = 0.7  # marks next to text smaller than this share of a typical dot are dust
BORDER_LEVEL = 40  # background this dark is off the page (scanner lid, table edge)


@dataclass(frozen=True, slots=True)
class PageStats:
    """What :func:`measure` found (levels 0-255, sizes in pixels of the full image)."""

    paper: float  # median background level
    spread: float  # p98 - p2 of the background map
    ink: float  # 10th percentile of ink pixels, after relighting
    noise: float  # robust sigma of the paper
    specks: float  # isolated small dark components per megapixel
    char_height: float  # median height of text components

    def to_dict(self) -> dict[str, float]:
        return {name: round(float(getattr(self, name)), 2) for name in self.__slots__}


def _background(small: np.ndarray) -> np.ndarray:
    """Paper level map of a quarter-size page: closing erases text, median smooths."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    return cv2.medianBlur(closed, 21)


def _ink_and_noise(gray: np.ndarray) -> tuple[float, float]:
    """Ink level (10th percentile of Otsu foreground) and paper noise sigma."""
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    ink_pixels = gray[binary == 0]
    ink = float(np.percentile(ink_pixels, 10)) if ink_pixels.size > 100 else 0.0
    residual = cv2.absdiff(gray, cv2.medianBlur(gray, 3))
    paper = residual[binary > 0]
    noise = 1.4826 * float(np.median(paper)) if paper.size else 0.0
    # A median of small integers is coarse: use the mean absolute residual as well.
    noise = max(noise, 1.25 * float(paper.mean()) if paper.size else 0.0)
    # JPEG smooths sensor noise into blotches a 3x3 median leaves alone (the noisy
    # bench scans, sigma 14 before JPEG, measured 2 above): the spread of the paper's
    # own levels, away from the ink, sees them (4.4 there, 0 on every other bench kind).
    clear = cv2.erode(binary, np.ones((7, 7), np.uint8)) > 0
    levels = gray[clear]
    if levels.size:
        spread = np.abs(levels.astype(np.int16) - int(np.median(levels)))
        noise = max(noise, 1.4826 * float(np.median(spread)))
    return ink, noise


def _components(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Otsu ink components: (labels, stats, median text-component height)."""
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    tall = heights[heights >= 8]
    return labels, stats, float(np.median(tall)) if tall.size else 0.0


def _specks(
    labels: np.ndarray, stats: np.ndarray, char_height: float
) -> tuple[np.ndarray, np.ndarray]:
    """Labels of specks, as ``(isolated, dust_near_text)``.

    ``isolated``: small components (under :data:`SPECK_SIDE` of a character high) with
    no larger ink within about a line height, and crumbs of at most 4 pixels anywhere.
    Dots of Arabic letters, i's dots and periods sit next to their letters, so they stay.

    ``dust_near_text``: small components next to text whose area is under
    :data:`DOT_SHARE` of the page's typical dot (:func:`_typical_dot`). Dust that lands
    beside a letter is what Tesseract reads as an extra dot (ر as ز, ع as غ) or as
    punctuation between words; on the noisy bench pages the letter dots measured 20-30
    px and almost all the dust next to text under 20 (or 30-40: those stay).
    """
    none = np.zeros(0, np.int64)
    if char_height <= 0:
        return none, none
    area = stats[:, cv2.CC_STAT_AREA]
    side = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    small = side < SPECK_SIDE * char_height
    small[0] = False
    big = ~small
    big[0] = False
    text = big[labels].astype(np.uint8)
    reach = max(3, int(char_height)) | 1
    near = cv2.dilate(text, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach)))
    touched = np.bincount(labels[near > 0], minlength=len(stats)) > 0  # faster than unique
    isolated = np.flatnonzero(small & (~touched | (area <= 4)))
    marks = small & touched
    dust = marks & (area > 4) & (area < DOT_SHARE * _typical_dot(area[marks]))
    return isolated, np.flatnonzero(dust)


def _typical_dot(areas: np.ndarray) -> float:
    """The most common area (pixels) of the small marks next to text: letter dots,
    periods, i's dots. They are printed from one font at one size, so their areas
    cluster tightly; dust spreads over every size. 0 when there are too few marks."""
    if areas.size < 20:
        return 0.0
    counts = np.bincount(areas.astype(np.int64))
    smoothed = np.convolve(counts, np.ones(5), mode="same")  # areas jitter by a pixel or two
    return float(np.argmax(smoothed))


def _relight(gray: np.ndarray, background: np.ndarray) -> np.ndarray:
    """``gray`` divided by its background (same size), paper to white; off-page to white."""
    out = cv2.divide(gray, np.maximum(background, 1), scale=255)
    out[background < BORDER_LEVEL] = 255
    return out


def remove_specks(gray: np.ndarray) -> tuple[np.ndarray, int]:
    """Erase specks (see :func:`_specks`) whatever their number; returns (image, count)."""
    labels, stats, char_height = _components(gray)
    specks = np.concatenate(_specks(labels, stats, char_height))
    if not specks.size:
        return gray, 0
    return _erase(gray, labels, len(stats), specks), int(specks.size)


def clean(gray: np.ndarray, dpi: int = 300) -> tuple[np.ndarray, PageStats, list[str]]:
    """The page cleaned for recognition, what was measured, and the steps applied.

    Each measurement is taken on the page as cleaned so far: ink and noise after the
    relighting, specks after the contrast stretch, the median filter and the rules.
    ``dpi`` is the render's (thresholds are in pixels of 300 dpi renders, where body
    text is 25-35 px high; the engine always renders at its configured dpi).
    """
    steps: list[str] = []
    small = cv2.resize(gray, None, fx=WORK_SCALE, fy=WORK_SCALE, interpolation=cv2.INTER_AREA)
    background = _background(small)
    p2, paper, p98 = (float(v) for v in np.percentile(background, (2, 50, 98)))
    out = gray
    if p98 - p2 > UNEVEN_SPREAD or paper < GREY_PAPER:
        full = cv2.resize(background, gray.shape[::-1], interpolation=cv2.INTER_LINEAR)
        out = _relight(gray, full)
        steps.append("illumination")
    ink, noise = _ink_and_noise(out)
    if ink > GREY_INK:
        low = max(0.0, ink - 25)
        lut = np.clip((np.arange(256) - low) * 255.0 / max(1.0, 235 - low), 0, 255)
        out = cv2.LUT(out, lut.astype(np.uint8))
        steps.append("contrast")
        _, noise = _ink_and_noise(out)  # the stretch amplified the noise too
    labels, cc_stats, char_height = _components(out)
    if char_height > 0:
        ruled = _rules(out, char_height)
        if ruled is not None:
            out = ruled
            steps.append("rules")
            labels, cc_stats, char_height = _components(out)
    specks, dust = _specks(labels, cc_stats, char_height)
    per_mpx = specks.size / (gray.size / 1e6)
    if per_mpx > SPECKS_PER_MPX:  # a dusty page: the dust next to text goes as well
        out = _erase(out, labels, len(cc_stats), np.concatenate((specks, dust)))
        steps.append("specks")
    if noise > NOISE_SIGMA:
        # After the specks: a median first would blur dust and dots into each other's
        # sizes (noisy bench pages: 4.2% CER median first, 3.6% after).
        out = cv2.medianBlur(out, 3)
        steps.append("denoise")
    stats = PageStats(paper, p98 - p2, ink, noise, per_mpx, char_height)
    return out, stats, steps


def _rules(gray: np.ndarray, char_height: float) -> np.ndarray | None:
    """``gray`` with ruling lines (table borders, underlines, rules) erased, or None
    when there are none.

    A ruling line is a straight run of ink much longer than any letter: at least
    :data:`RULE_CHARS` character heights (horizontal) or :data:`RULE_CHARS` / 2
    (vertical, where table rows are short). Tesseract's layout analysis takes the cells
    of a ruled table for pictures and drops their text; with the rules gone the cells
    read as ordinary text, and :mod:`ocr.engine.layout` puts them back in rows.
    """
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    long_h = max(20, int(RULE_CHARS * char_height))
    long_v = max(20, int(RULE_CHARS / 2 * char_height))
    rules = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, long_h), np.uint8))
    rules |= cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((long_v, 1), np.uint8))
    if not rules.any():
        return None
    rules = cv2.dilate(rules, np.ones((3, 3), np.uint8))
    out = gray.copy()
    out[rules > 0] = 255
    return out


def measure(gray: np.ndarray) -> PageStats:
    """What :func:`clean` measures on ``gray`` (see the module docstring)."""
    return clean(gray)[1]


def _erase(gray: np.ndarray, labels: np.ndarray, count: int, which: np.ndarray) -> np.ndarray:
    mask = np.zeros(count, bool)
    mask[which] = True
    out = gray.copy()
    out[mask[labels]] = 255
    return out
