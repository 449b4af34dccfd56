"""Numbers read glyph by glyph: the ink of a number cut into its characters, each one
matched against printed digits and separators.

Why: digits do not join (Western, Arabic-Indic and Persian alike), so a printed number is
a row of separate pieces of ink, and each piece is one of a few dozen shapes. Tesseract's
LSTM reads the row as a whole and, trained from scratch on a small set (see
``bin/train_digit_model.py``), adds or drops a digit in long numbers, confuses ٢ and ٣,
and takes ٬ for ٫. Reading each piece on its own cannot add or drop a digit, and the
piece's height and place against the digits beside it tell ٠ from ٫ from ٬ from ``.``.

What: :func:`read` binarises a crop, takes its connected components, joins the pieces of
one character (the dots of ``:``, the rings of ``%``, a broken stroke: pieces that
share their columns), and gives each character the label of its nearest printed
neighbours (:class:`GlyphModel`, ``tessdata/glyphs.npz`` written by
``bin/train_glyph_model.py`` from fonts, not from any page Portico reads). Features: the
character's ink scaled into a 16×16 square and its height, width and rows against the
band of the number's tall characters. A piece nearest to letters (``?``: Arabic and
Latin letters were in the training set) makes the whole reading fail: the crop is not a
number. The confidence is the weakest character's margin between its label and the next
best one, on Tesseract's 0–100 scale.
"""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path

import cv2
import numpy as np

MODEL = Path(__file__).with_name("tessdata") / "glyphs.npz"
SIZE = 16  # a character's ink is scaled into SIZE × SIZE
GEOMETRY_WEIGHT = 4.0  # height, width and rows count this much against the shape
NEIGHBOURS = 5
UNSURE = 50.0  # a label this unsure may give way to an allowed one
TALL = 0.6  # of the tallest piece: a digit's height; ٠ ٫ ٬ . , - are smaller
SPECK_HEIGHT = 0.45  # of the band's height: a smaller piece outside the band is dust
MIN_SPECK = 0.06  # of the band's height: smaller pieces are dust, not ink of the number
NOT_A_GLYPH = "?"
SPACE = 0.4  # of the band's height: centres a cell and this much apart are a space apart
SPACE_STRETCH = 1.5  # ... and this many times the number's usual step
SYSTEMS = {
    "western": frozenset("0123456789.,/-:%+"),
    # Not . and , : beside Arabic-Indic digits they are ٠ (a dot) and ٬ as often as not.
    "eastern": frozenset("٠١٢٣٤٥٦٧٨٩۴۵۶٫٬/-:٪%+"),
}

# Persian digits whose shapes differ from their Arabic twins only by a stroke; a
# character near both is the same digit (which twin the page prints is settled per page).
_TWINS = str.maketrans("۴۵۶", "٤٥٦")

Box = tuple[int, int, int, int]


def binarise(gray: np.ndarray) -> np.ndarray:
    """Ink (255) on paper (0), Otsu's threshold over the crop."""
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return ink


def segment(ink: np.ndarray) -> tuple[list[Box], np.ndarray]:
    """The characters of ``ink`` left to right (boxes), and the component label map.

    Pieces whose columns overlap by half the narrower one's width are one character."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    pieces = [
        (int(x), int(y), int(x + w), int(y + h), index)
        for index, (x, y, w, h, _) in enumerate(stats[1:count], start=1)
    ]
    if not pieces:
        return [], labels
    tallest = max(p[3] - p[1] for p in pieces)
    pieces = [p for p in pieces if max(p[2] - p[0], p[3] - p[1]) >= MIN_SPECK * tallest]
    kept = set(_without_specks([p[:4] for p in pieces]))
    pieces = sorted(p for p in pieces if p[:4] in kept)
    groups: list[list[int]] = []  # [x0, y0, x1, y1]
    for x0, y0, x1, y1, _ in pieces:
        if groups:
            g = groups[-1]
            shared = min(x1, g[2]) - max(x0, g[0])
            if shared >= 0.5 * min(x1 - x0, g[2] - g[0]):
                g[:] = [min(g[0], x0), min(g[1], y0), max(g[2], x1), max(g[3], y1)]
                continue
        groups.append([x0, y0, x1, y1])
    return [(g[0], g[1], g[2], g[3]) for g in groups], labels


def _without_specks(boxes: list[Box]) -> list[Box]:
    """``boxes`` (pieces of ink) less the small ones whose middle is above the band of the tall
    characters or that lie wholly below it: dust (٠ sits in the middle of the band, ٬
    in it, and ٫ . , on its bottom edge)."""
    if len(boxes) < 2:
        return boxes
    top, bottom = band(boxes)
    small = SPECK_HEIGHT * (bottom - top)
    return [
        b for b in boxes if b[3] - b[1] >= small or (top <= (b[1] + b[3]) / 2 and b[1] < bottom)
    ]


def band(boxes: list[Box]) -> tuple[float, float]:
    """Top and bottom of the number's tall characters (medians)."""
    tallest = max(b[3] - b[1] for b in boxes)
    tall = [b for b in boxes if b[3] - b[1] >= TALL * tallest]
    tops = sorted(b[1] for b in tall)
    bottoms = sorted(b[3] for b in tall)
    return float(tops[len(tops) // 2]), float(bottoms[len(bottoms) // 2])


def features(ink: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """One row per character: its shape (SIZE², 0..1) and geometry (weighted)."""
    top, bottom = band(boxes)
    height = max(1.0, bottom - top)
    rows = []
    for x0, y0, x1, y1 in boxes:
        glyph = ink[y0:y1, x0:x1]
        h, w = glyph.shape
        side = max(h, w)
        square = np.zeros((side, side), np.uint8)
        square[(side - h) // 2 : (side - h) // 2 + h, (side - w) // 2 : (side - w) // 2 + w] = glyph
        shape = cv2.resize(square, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
        geometry = np.array(
            [h / height, w / height, (y0 - top) / height, (y1 - bottom) / height], np.float32
        )
        rows.append(
            np.concatenate([shape.astype(np.float32).ravel() / 255.0, GEOMETRY_WEIGHT * geometry])
        )
    return np.stack(rows) if rows else np.zeros((0, SIZE * SIZE + 4), np.float32)


class GlyphModel:
    """Labelled characters; a character takes the label most of its nearest ones have."""

    def __init__(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        self.vectors = vectors.astype(np.float32)
        self.labels = labels
        self.norms = (self.vectors**2).sum(axis=1)

    def classify(self, rows: np.ndarray, allowed: frozenset[str]) -> list[tuple[str, float]]:
        """(label, confidence 0–100) per row. Every label competes, so a letter (``?``)
        is not forced into a digit; a character nearest to a label outside ``allowed``
        is ``?`` too, unless that label is unsure (under :data:`UNSURE`), when it takes
        the best label in ``allowed`` (a blurred ٠ nearer to ``.`` than to ٠)."""
        return self.label(self.distances(rows), allowed)

    def distances(self, rows: np.ndarray) -> np.ndarray:
        """Euclidean distance from each row to every labelled character."""
        squared = self.norms[None, :] - 2 * rows @ self.vectors.T + (rows**2).sum(1)[:, None]
        return np.sqrt(np.maximum(squared, 0))

    def label(self, distances: np.ndarray, allowed: frozenset[str]) -> list[tuple[str, float]]:
        """:meth:`classify` from the distances."""
        out = []
        for row in distances:
            nearest = np.argpartition(row, NEIGHBOURS * 4)[: NEIGHBOURS * 4]
            nearest = nearest[np.argsort(row[nearest])]
            label, confidence = self._vote(row, nearest)
            if label not in allowed and label != NOT_A_GLYPH and confidence < UNSURE:
                kept = [i for i in nearest if str(self.labels[i]) in allowed]
                if kept:
                    label, confidence = self._vote(row, np.array(kept))
            out.append((label if label in allowed else NOT_A_GLYPH, confidence))
        return out

    def _vote(self, row: np.ndarray, nearest: np.ndarray) -> tuple[str, float]:
        """The label most of the :data:`NEIGHBOURS` nearest carry (then the nearest), and
        a confidence from the votes and the margin to the next label."""
        labels = [str(self.labels[i]) for i in nearest]
        folded = [label.translate(_TWINS) for label in labels]
        votes: dict[str, int] = {}
        for label in folded[:NEIGHBOURS]:
            votes[label] = votes.get(label, 0) + 1
        winner = max(votes, key=lambda k: (votes[k], -folded.index(k)))
        best = float(row[nearest[folded.index(winner)]])
        other = next(
            (float(row[i]) for i, f in zip(nearest, folded, strict=True) if f != winner),
            best * 2 + 1,
        )
        margin = (other - best) / max(1e-6, other + best)
        confidence = 100.0 * min(1.0, 0.5 + 2.0 * margin) * votes[winner] / NEIGHBOURS
        # the printed twin most of the winner's neighbours carry (٦ or ۶)
        near = [lab for lab, f in zip(labels, folded, strict=True) if f == winner][:NEIGHBOURS]
        return max(set(near), key=near.count), confidence


def _spaces(boxes: list[Box], height: float) -> list[bool]:
    """Whether a space stands before each character. Digits sit in cells of one width
    (٠ is a dot in the middle of its cell, Amiri's digits stand far apart): a space is
    where two centres stand a digit's width and :data:`SPACE` band heights apart or
    more, and :data:`SPACE_STRETCH` times the crop's usual step."""
    tallest = max(b[3] - b[1] for b in boxes)
    widths = sorted(b[2] - b[0] for b in boxes if b[3] - b[1] >= TALL * tallest)
    cell = float(widths[len(widths) // 2]) if widths else 0.5 * height
    steps = [(b[0] + b[2] - a[0] - a[2]) / 2 for a, b in itertools.pairwise(boxes)]
    usual = sorted(steps)[(len(steps) - 1) // 2] if steps else 0.0
    return [False] + [
        step >= cell + SPACE * height and step >= SPACE_STRETCH * usual for step in steps
    ]


@cache
def model() -> GlyphModel | None:
    if not MODEL.exists():
        return None
    data = np.load(MODEL)
    return GlyphModel(data["vectors"], data["labels"])


_LAST: dict[tuple, tuple[list[Box], np.ndarray]] = {}


def _measured(glyphs: GlyphModel, gray: np.ndarray) -> tuple[list[Box], np.ndarray]:
    """The characters of ``gray`` and their distances to the model's, for the last crop
    read: a crop is read once per digit system, and the distances are most of the cost."""
    key = (gray.shape, hash(gray.tobytes()))
    hit = _LAST.get(key)
    if hit is None:
        ink = binarise(gray)
        boxes, _ = segment(ink)
        distances = glyphs.distances(features(ink, boxes)) if boxes else np.zeros((0, 0))
        _LAST.clear()
        _LAST[key] = hit = (boxes, distances)
    return hit


def read(gray: np.ndarray, system: str) -> list[tuple[str, float, Box]]:
    """The numbers printed in ``gray`` (a word's crop) in ``system`` ("western" or
    "eastern"), left to right: (text, confidence, box of its ink in the crop) each, cut
    where the gap between characters is :data:`SPACE` band heights or more; [] when a
    piece is no character of a number."""
    glyphs = model()
    if glyphs is None or gray.size == 0:
        return []
    boxes, distances = _measured(glyphs, gray)
    if not boxes:
        return []
    labelled = glyphs.label(distances, SYSTEMS[system])
    if any(label == NOT_A_GLYPH for label, _ in labelled):
        return []
    top, bottom = band(boxes)
    spaces = _spaces(boxes, bottom - top)
    words: list[tuple[str, float, Box]] = []
    for box, (label, confidence), space in zip(boxes, labelled, spaces, strict=True):
        if words and not space:
            text, conf, (x0, y0, x1, y1) = words[-1]
            merged = (x0, min(y0, box[1]), max(x1, box[2]), max(y1, box[3]))
            words[-1] = (text + label, min(conf, confidence), merged)
        else:
            words.append((label, confidence, box))
    return words
