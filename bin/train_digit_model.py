"""Train ``ocr/engine/tessdata/digits.traineddata``: Tesseract's LSTM for numbers.

Why: the ``ara`` model Debian ships (tessdata_fast) has only two Arabic-Indic digits
(٠ and ١) and neither ٫ nor ٬ in its character set, so it cannot read ٢ to ٩ at all: it
reads them as letters, Western digits or nothing. This model reads one number region
(a word box): Western digits, Arabic-Indic digits, the three Persian digits whose shapes
differ (۴ ۵ ۶; the other Persian digits look like the Arabic ones and are labelled as
such), and the separators ``٫ ٬ , . / - : % ٪ +``.

Lines are rendered from installed fonts with Pillow (libraqm), degraded like scans
(blur, noise, JPEG, thresholding, thin and bold strokes, low resolution) and fed to
Tesseract's own ``lstmtraining``. Noto Sans Arabic is left out on purpose, so the bench
can show how the model does on an Arabic font it never saw.

Usage (needs Debian's ``tesseract-ocr`` training tools: lstmtraining, combine_lang_model,
unicharset_extractor)::

    .venv/bin/python bin/train_digit_model.py [--lines 8000] [--iterations 12000] [--work DIR]

Seeded: the same arguments give the same training data. About 30 minutes on one core.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "ocr" / "engine" / "tessdata" / "digits.traineddata"
NET_SPEC = "[1,36,0,1 Ct3,3,16 Mp3,3 Lfys48 Lfx96 Lrx96 Lfx128 O1c{outputs}]"

NOTO = Path("/usr/share/fonts/truetype/noto")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
AMIRI = Path("/usr/share/fonts/opentype/fonts-hosny-amiri")
# Fonts with Arabic-Indic digits (Noto Sans Arabic is held out, see the module doc).
EASTERN_FONTS = [
    NOTO / "NotoNaskhArabic-Regular.ttf",
    NOTO / "NotoNaskhArabic-Bold.ttf",
    NOTO / "NotoKufiArabic-Regular.ttf",
    NOTO / "NotoKufiArabic-Bold.ttf",
    AMIRI / "Amiri-Regular.ttf",
    AMIRI / "Amiri-Bold.ttf",
    AMIRI / "Amiri-Slanted.ttf",
    DEJAVU / "DejaVuSans.ttf",
    DEJAVU / "DejaVuSans-Bold.ttf",
    DEJAVU / "DejaVuSansCondensed.ttf",
    DEJAVU / "DejaVuSansMono.ttf",
]
WESTERN_FONTS = [
    *EASTERN_FONTS,
    NOTO / "NotoSans-Regular.ttf",
    NOTO / "NotoSans-Bold.ttf",
    NOTO / "NotoSans-Italic.ttf",
    NOTO / "NotoSerif-Regular.ttf",
    NOTO / "NotoSerif-Bold.ttf",
    NOTO / "NotoSansDisplay-Regular.ttf",
    NOTO / "NotoSerifDisplay-Regular.ttf",
    DEJAVU / "DejaVuSerif.ttf",
    DEJAVU / "DejaVuSerif-Bold.ttf",
    DEJAVU / "DejaVuSerifCondensed.ttf",
    DEJAVU / "DejaVuSans-Oblique.ttf",
]
ARABIC = "٠١٢٣٤٥٦٧٨٩"
PERSIAN = "۰۱۲۳۴۵۶۷۸۹"
# Persian digits drawn like their Arabic twins are labelled with the Arabic code point.
PERSIAN_LABEL = str.maketrans("۰۱۲۳۷۸۹", "٠١٢٣٧٨٩")


def western_number(rng: random.Random) -> str:
    """A number as printed in business documents, in Western digits."""

    def n(k: int) -> str:
        return "".join(str(rng.randint(0, 9)) for _ in range(k))

    kind = rng.choice(
        ["int", "int", "long", "amount", "amount", "grouped", "decimal", "date", "date2",
         "ref", "time", "phone", "percent", "range"]
    )  # fmt: skip
    if kind == "int":
        return str(rng.randint(0, 10 ** rng.randint(1, 5)))
    if kind == "long":
        return n(rng.randint(6, 15))
    if kind in ("amount", "grouped"):
        whole = f"{rng.randint(0, 10 ** rng.randint(3, 8)):,}"
        return f"{whole}.{n(2)}" if kind == "amount" else whole
    if kind == "decimal":
        return f"{rng.randint(0, 999)}.{n(rng.randint(1, 3))}"
    if kind == "date":
        sep = rng.choice("//-.")
        day, month, year = f"{rng.randint(1, 31):02d}", f"{rng.randint(1, 12):02d}", n(4)
        parts = [day, month, year] if rng.random() < 0.7 else [year, month, day]
        return sep.join(parts)
    if kind == "date2":
        return f"{rng.randint(1, 31)}/{rng.randint(1, 12)}/{rng.choice(['2024', '2025', '1446', '1403'])}"
    if kind == "ref":
        return f"{rng.randint(1, 999)}/{rng.choice(['2023', '2024', '2025', '1446'])}"
    if kind == "time":
        return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
    if kind == "phone":
        return rng.choice(["05", "011", "012", "9200", "021", "+966", "00966"]) + n(
            rng.randint(6, 8)
        )
    if kind == "percent":
        return f"{rng.randint(0, 100)}%"
    return f"{rng.randint(1, 99)}-{rng.randint(1, 999)}"


def in_system(text: str, system: str, rng: random.Random) -> str:
    if system == "western":
        return text
    table = ARABIC if system == "arabic" else PERSIAN
    out = "".join(table[int(c)] if c.isdigit() else c for c in text)
    if rng.random() < 0.8:  # most Arabic documents use the Arabic separators
        out = out.replace(",", "٬").replace(".", "٫").replace("%", "٪")
    return out


def sample(rng: random.Random) -> tuple[str, str, Path]:
    """(text to draw, label, font) for one training line."""
    roll = rng.random()
    system = "western" if roll < 0.4 else "arabic" if roll < 0.85 else "persian"
    count = 1 if rng.random() < 0.75 else rng.randint(2, 3)
    text = " ".join(in_system(western_number(rng), system, rng) for _ in range(count))
    font = rng.choice(WESTERN_FONTS if system == "western" else EASTERN_FONTS)
    return text, text.translate(PERSIAN_LABEL), font


@cache
def _cmap(font_path: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(str(font_path)).getBestCmap())


def _layout(
    text: str, font_path: Path, size: int
) -> list[tuple[str, ImageFont.FreeTypeFont, float]]:
    """Each character with the font that has it and its advance, left to right.

    Characters are placed one by one: digits do not join, and the bidi algorithm would
    reorder Arabic-Indic numbers separated by spaces or hyphens (they are "Arabic
    numbers"), so a label in left-to-right order would not match the picture.
    """
    fonts = [font_path, NOTO / "NotoSans-Regular.ttf", DEJAVU / "DejaVuSans.ttf"]
    placed = []
    for ch in text:
        path = next((f for f in fonts if ord(ch) in _cmap(f)), fonts[-1])
        font = ImageFont.truetype(str(path), size)
        placed.append((ch, font, font.getlength(ch)))
    return placed


def draw(text: str, font_path: Path, rng: random.Random) -> np.ndarray:
    """The text on a white strip, degraded like a scanned page's crop."""
    return draw_spans(text, font_path, rng)[0]


def draw_spans(
    text: str, font_path: Path, rng: random.Random
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """:func:`draw`, and each character's span of columns in the picture."""
    size = rng.randint(22, 72)
    placed = _layout(text, font_path, size)
    width = int(sum(advance for _, _, advance in placed)) + 1
    pad_x, pad_y = rng.randint(2, size // 2), rng.randint(2, size // 3)
    image = Image.new("L", (width + 2 * pad_x, int(size * 1.6) + 2 * pad_y), 255)
    ink = rng.randint(0, 90)
    canvas = ImageDraw.Draw(image)
    x = float(pad_x)
    spans = []
    for ch, font, advance in placed:
        canvas.text((x, pad_y + size * 1.1), ch, fill=ink, font=font, anchor="ls")
        spans.append((x, x + advance))
        x += advance
    # Crop the strip to the ink (plus the padding): fonts put their digits at different
    # heights within the em.
    rows = np.where(np.asarray(image).min(axis=1) < 255)[0]
    if len(rows):
        top, bottom = max(0, rows[0] - pad_y), min(image.height, rows[-1] + 1 + pad_y)
        image = image.crop((0, top, image.width, bottom))
    gray = np.asarray(image).copy()
    if rng.random() < 0.25:  # thinner or bolder strokes (toner, photocopies)
        kernel = np.ones((2, 2), np.uint8)
        gray = cv2.dilate(gray, kernel) if rng.random() < 0.5 else cv2.erode(gray, kernel)
    if rng.random() < 0.2:  # read at half resolution (150 dpi scans, faxes)
        h, w = gray.shape
        gray = cv2.resize(gray, (max(8, w // 2), max(8, h // 2)), interpolation=cv2.INTER_AREA)
        spans = [(a / 2, b / 2) for a, b in spans]
    if rng.random() < 0.3:
        angle = rng.uniform(-1.5, 1.5)
        h, w = gray.shape
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        gray = cv2.warpAffine(gray, matrix, (w, h), borderValue=255)
    paper = rng.randint(185, 255)
    gray = (gray.astype(np.float32) / 255.0) * (paper - ink) + ink
    if rng.random() < 0.6:
        gray = cv2.GaussianBlur(gray, (0, 0), rng.uniform(0.3, 1.2))
    if rng.random() < 0.5:
        noise = np.random.default_rng(rng.randrange(1 << 30)).normal(
            0, rng.uniform(3, 20), gray.shape
        )
        gray = gray + noise
    gray = np.clip(gray, 0, 255).astype(np.uint8)
    if rng.random() < 0.35:
        buf = io.BytesIO()
        Image.fromarray(gray).save(buf, "JPEG", quality=rng.randint(30, 85))
        gray = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
    if rng.random() < 0.2:
        _, gray = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return gray, spans


def make_line(args: tuple[int, int, Path]) -> Path | None:
    seed, index, folder = args
    rng = random.Random(f"{seed}:{index}")
    text, label, font = sample(rng)
    gray = draw(text, font, rng)
    base = folder / f"line{index:05d}"
    Image.fromarray(gray).save(base.with_suffix(".png"))
    h, w = gray.shape
    base.with_suffix(".box").write_text(
        f"WordStr 0 0 {w} {h} 0 #{label}\n\t {w} 0 {w + 1} 1 0\n", encoding="utf-8"
    )
    base.with_suffix(".gt.txt").write_text(label + "\n", encoding="utf-8")
    done = subprocess.run(
        ["tesseract", str(base.with_suffix(".png")), str(base), "--psm", "13", "lstm.train"],
        capture_output=True,
    )
    lstmf = base.with_suffix(".lstmf")
    return lstmf if done.returncode == 0 and lstmf.exists() else None


def run(*cmd: str) -> None:
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def prepare(args: argparse.Namespace, lines_dir: Path) -> None:
    """Training lines, their list files, the character set and the starter model."""
    lines_dir.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        jobs = [(args.seed, i, lines_dir) for i in range(args.lines)]
        made = [p for p in pool.map(make_line, jobs, chunksize=50) if p is not None]
    print(f"{len(made)} training lines", flush=True)
    rng = random.Random(args.seed)
    rng.shuffle(made)
    evaluation = made[: max(50, len(made) // 20)]
    (args.work / "train.txt").write_text("\n".join(map(str, made[len(evaluation) :])) + "\n")
    (args.work / "eval.txt").write_text("\n".join(map(str, evaluation)) + "\n")
    labels = sorted(lines_dir.glob("*.gt.txt"))
    every = "0123456789" + ARABIC + "۴۵۶" + ".,٫٬/-:%٪+"  # the whole character set
    (args.work / "all.txt").write_text(
        every + "\n" + "".join(p.read_text(encoding="utf-8") for p in labels), encoding="utf-8"
    )
    run("unicharset_extractor", "--output_unicharset", str(args.work / "digits.unicharset"),
        "--norm_mode", "1", str(args.work / "all.txt"))  # fmt: skip
    script_dir = args.work / "langdata"
    script_dir.mkdir(exist_ok=True)
    # combine_lang_model insists on a radical-stroke table (used for Han only).
    (script_dir / "radical-stroke.txt").write_text("19968 1 0\n")
    run("combine_lang_model", "--input_unicharset", str(args.work / "digits.unicharset"),
        "--script_dir", str(script_dir), "--lang", "digits", "--output_dir", str(args.work))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=10000)
    parser.add_argument("--iterations", type=int, default=24000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--work", type=Path, default=Path("/tmp/portico-digits"))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    lines_dir = args.work / "lines"
    checkpoints = args.work / "checkpoints"
    starter = args.work / "digits" / "digits.traineddata"
    if not (args.work / "train.txt").exists():
        prepare(args, lines_dir)
    checkpoints.mkdir(exist_ok=True)
    latest = checkpoints / "digits_checkpoint"
    if latest.exists():  # go on from where an earlier run stopped
        start = ["--continue_from", str(latest)]
    else:
        # combine_lang_model names the size of the recoded character set in a file name.
        (size_file,) = (args.work / "digits").glob("digits.charset_size=*.txt")
        outputs = int(size_file.stem.split("=")[1].split(".")[0])
        start = ["--net_spec", NET_SPEC.format(outputs=outputs), "--learning_rate", "0.002"]
    run("lstmtraining", "--traineddata", str(starter), *start,
        "--model_output", str(checkpoints / "digits"),
        "--train_listfile", str(args.work / "train.txt"),
        "--eval_listfile", str(args.work / "eval.txt"),
        "--max_iterations", str(args.iterations), "--target_error_rate", "0.002")  # fmt: skip
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    run("lstmtraining", "--stop_training", "--convert_to_int",
        "--continue_from", str(checkpoints / "digits_checkpoint"),
        "--traineddata", str(starter), "--model_output", str(OUTPUT))  # fmt: skip
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")
    if not shutil.which("lstmeval"):
        return
    run("lstmeval", "--model", str(OUTPUT), "--eval_listfile", str(args.work / "eval.txt"))


if __name__ == "__main__":
    sys.exit(main())
