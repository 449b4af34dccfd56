"""Build ``ocr/engine/tessdata/glyphs.npz``: printed digits and separators, one
character at a time, for :mod:`ocr.engine.glyphs`.

Numbers are drawn as in ``bin/train_digit_model.py`` (the same number shapes, fonts and
scan defects; Noto Sans Arabic left out so the bench shows a font the model never saw),
cut into characters the way :func:`ocr.engine.glyphs.segment` cuts a crop, and each
character labelled by the span of the text it was drawn in; a line whose pieces do not
match its characters one to one (touching or broken digits) is left out. Arabic and
Latin words are drawn too, and their wide pieces labelled ``?`` (not a number). At most
:data:`PER_LABEL` characters per label are kept.

Usage::

    .venv/bin/python bin/train_glyph_model.py [--lines 12000] [--seed 2027]

Seeded; about a minute on one core. No page of the bench or the tests is drawn.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bin"))

import train_digit_model as lines  # noqa: E402

from ocr.engine import glyphs  # noqa: E402

PER_LABEL = 600
ARABIC_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
LATIN_LETTERS = "ABCDEFGHKMNPRSTUWXYZabcdeghkmnopqrsuwxyz"
WIDE = 0.9  # of the band's height: a letter piece this wide is nothing like a digit


def labelled(text: str, font: Path, rng: random.Random) -> list[tuple[str, np.ndarray]]:
    """The characters of one drawn line with their labels ([] when they do not match)."""
    gray, spans = lines.draw_spans(text, font, rng)
    ink = glyphs.binarise(gray)
    boxes, _ = glyphs.segment(ink)
    chars = [(ch, span) for ch, span in zip(text, spans, strict=True) if ch != " "]
    if len(boxes) != len(chars) or not boxes:
        return []
    out = []
    for box, (ch, (a, b)) in zip(boxes, chars, strict=True):
        middle = (box[0] + box[2]) / 2
        if not a - 2 <= middle <= b + 2:
            return []
        out.append(ch)
    rows = glyphs.features(ink, boxes)
    return list(zip(out, rows, strict=True))


def letters(rng: random.Random) -> list[tuple[str, np.ndarray]]:
    """Wide pieces of a drawn Arabic or Latin word, labelled ``?``, next to digits."""
    arabic = rng.random() < 0.7
    alphabet = ARABIC_LETTERS if arabic else LATIN_LETTERS
    word = "".join(rng.choice(alphabet) for _ in range(rng.randint(2, 6)))
    digits = lines.in_system(str(rng.randint(10, 999)), "arabic" if arabic else "western", rng)
    font = rng.choice(lines.EASTERN_FONTS if arabic else lines.WESTERN_FONTS)
    if arabic:  # a word is drawn joined: the whole word at once, then the digits
        gray = _joined(word + " " + digits, font, rng)
    else:
        gray, _ = lines.draw_spans(word + " " + digits, font, rng)
    ink = glyphs.binarise(gray)
    boxes, _ = glyphs.segment(ink)
    if not boxes:
        return []
    top, bottom = glyphs.band(boxes)
    rows = glyphs.features(ink, boxes)
    return [
        (glyphs.NOT_A_GLYPH, row)
        for box, row in zip(boxes, rows, strict=True)
        if box[2] - box[0] >= WIDE * (bottom - top)
    ]


def _joined(text: str, font: Path, rng: random.Random) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    size = rng.randint(22, 72)
    face = ImageFont.truetype(str(font), size, layout_engine=ImageFont.Layout.RAQM)
    width = int(face.getlength(text)) + size
    image = Image.new("L", (width, int(size * 2)), 255)
    ImageDraw.Draw(image).text((size // 2, size * 1.4), text, fill=0, font=face, anchor="ls")
    return np.asarray(image)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=12000)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--output", type=Path, default=glyphs.MODEL)
    args = parser.parse_args()
    kept: dict[str, list[np.ndarray]] = defaultdict(list)
    used = 0
    for index in range(args.lines):
        rng = random.Random(f"{args.seed}:{index}")
        if rng.random() < 0.12:
            found = letters(rng)
        else:
            text, _, font = lines.sample(rng)
            found = labelled(text, font, rng)
            # Persian digits drawn like their Arabic twins carry the Arabic label.
            found = [(ch.translate(lines.PERSIAN_LABEL), row) for ch, row in found]
        used += bool(found)
        for ch, row in found:
            if len(kept[ch]) < PER_LABEL:
                kept[ch].append(row)
    labels = np.array([ch for ch, rows in kept.items() for _ in rows])
    vectors = np.stack([row for rows in kept.values() for row in rows]).astype(np.float16)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.output, vectors=vectors, labels=labels)
    counts = ", ".join(f"{ch}:{len(rows)}" for ch, rows in sorted(kept.items()))
    print(f"{used}/{args.lines} lines used; {len(labels)} characters ({counts})")
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
