"""Realistic page layouts and scan defects for OCR tests and the quality bench.

Builds on :mod:`tests.ocr.pdfgen` (fonts, wrapping, image-only PDFs). Every generator is
seeded, so a page and its ground truth are the same on every run.

Layouts return ``(image, truth)`` where ``truth`` is the text in reading order:

* :func:`columns_page` - a header, two columns, a footer with the page number; the
  columns are read left-to-right for English, right-to-left for Arabic.
* :func:`table_page` - a ruled table, read row by row, cells in the row's direction.
* :func:`flow_page` - paragraphs over the full width (optionally in another font).

Defects take and return a PIL image (``L`` or ``RGB``):
:func:`speckle` (scanner dust, blur, JPEG), :func:`fax` (150 dpi, hard threshold,
specks), :func:`phone_photo` (uneven light, dark edge, grey text, soft focus),
:func:`photocopy` (low contrast, toner noise), :func:`tinted` (coloured paper and ink),
:func:`stamp` (a translucent ink stamp over the text).
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from . import pdfgen

DPI = 300
A4_PX = (2480, 3508)

ENGLISH_SENTENCES = (
    "The committee met on Tuesday to review the annual budget and the plans for the new school.",
    "Heavy rain is expected in the northern regions during the weekend, so drivers should take care.",
    "The museum will open a new exhibition of ancient coins and pottery next month.",
    "Farmers in the valley grow wheat, olives and dates, and sell them at the weekly market.",
    "The hospital added twenty beds to its children's ward and hired six new nurses.",
    "Please send the signed contract to our office before the end of the month.",
    "The train to the capital leaves every hour from platform three.",
    "Our company has opened two new branches and now employs more than four hundred people.",
    "Students who wish to apply for the scholarship must submit their documents by March.",
    "The bridge over the river was repaired last year and is now open to heavy vehicles.",
    "Water consumption rose sharply during the summer because of the long heat wave.",
    "The report recommends planting more trees along the main roads of the city.",
    "Visitors can buy tickets online or at the entrance of the park.",
    "The new law protects workers who report safety problems at their workplace.",
    "A small team of volunteers cleaned the beach and collected several bags of plastic.",
    "The price of bread has not changed since the beginning of the year.",
)

ARABIC_SENTENCES = (
    "عقدت اللجنة اجتماعها يوم الثلاثاء لمراجعة الميزانية السنوية وخطط بناء المدرسة الجديدة.",
    "من المتوقع أن تهطل أمطار غزيرة على المناطق الشمالية خلال عطلة نهاية الأسبوع.",
    "سيفتتح المتحف معرضا جديدا للعملات القديمة والفخار في الشهر القادم.",
    "يزرع الفلاحون في الوادي القمح والزيتون والتمر ويبيعونها في السوق الأسبوعي.",
    "أضاف المستشفى عشرين سريرا إلى قسم الأطفال وعين ست ممرضات جديدات.",
    "يرجى إرسال العقد الموقع إلى مكتبنا قبل نهاية الشهر الحالي.",
    "يغادر القطار المتجه إلى العاصمة كل ساعة من الرصيف الثالث.",
    "افتتحت شركتنا فرعين جديدين ويعمل فيها الآن أكثر من أربعمائة موظف.",
    "يجب على الطلاب الراغبين في الحصول على المنحة تقديم وثائقهم قبل شهر مارس.",
    "تم إصلاح الجسر المقام على النهر في العام الماضي وأصبح مفتوحا للمركبات الثقيلة.",
    "ارتفع استهلاك المياه بشكل كبير خلال الصيف بسبب موجة الحر الطويلة.",
    "يوصي التقرير بزراعة المزيد من الأشجار على طول الطرق الرئيسية في المدينة.",
    "يمكن للزوار شراء التذاكر من الموقع أو عند مدخل الحديقة.",
    "يحمي القانون الجديد العمال الذين يبلغون عن مشكلات السلامة في أماكن عملهم.",
    "قام فريق صغير من المتطوعين بتنظيف الشاطئ وجمع عدة أكياس من البلاستيك.",
    "لم يتغير سعر الخبز منذ بداية العام.",
)

# Arabic lines with English words inside them (bidi runs within one line).
MIXED_LINES = (
    "يستخدم الطلاب برنامج Python لتحليل البيانات في المختبر.",
    "The Arabic word مكتبة means library.",
    "أرسل التقرير إلى البريد info@example.com قبل الظهر.",
    "Our office in دبي opens at nine in the morning.",
)

ARABIC_TABLE = {
    "header": ("الاسم", "المدينة", "العمر", "الوظيفة"),
    "names": ("محمد", "فاطمة", "خالد", "مريم", "يوسف", "سارة", "عمر", "ليلى"),
    "cities": ("القاهرة", "دمشق", "بيروت", "عمان", "الرياض", "تونس", "بغداد", "الرباط"),
    "jobs": ("مهندس", "طبيبة", "محاسب", "معلمة", "صحفي", "مترجمة", "طيار", "ممرضة"),
}
ENGLISH_TABLE = {
    "header": ("Name", "City", "Age", "Occupation"),
    "names": ("John", "Mary", "Peter", "Susan", "David", "Helen", "Robert", "Alice"),
    "cities": ("London", "Paris", "Madrid", "Berlin", "Dublin", "Lisbon", "Vienna", "Oslo"),
    "jobs": ("engineer", "doctor", "accountant", "teacher", "writer", "pilot", "nurse", "chef"),
}


def paragraphs(rng: random.Random, arabic: bool, count: int, sentences: int) -> list[str]:
    """``count`` paragraphs of ``sentences`` sentences drawn (seeded) from the pools."""
    pool = ARABIC_SENTENCES if arabic else ENGLISH_SENTENCES
    chosen = rng.sample(pool, count * sentences)  # no sentence twice on a page
    return [" ".join(chosen[i * sentences : (i + 1) * sentences]) for i in range(count)]


def _is_rtl(text: str) -> bool:
    """Direction of a paragraph: RTL when most of its letters are Arabic."""
    arabic = sum("\u0600" <= c <= "\u06ff" for c in text)
    latin = sum(c.isascii() and c.isalpha() for c in text)
    return arabic > latin


def _has_arabic(text: str) -> bool:
    return any("\u0600" <= c <= "\u06ff" for c in text)


def draw_paragraphs(
    draw: ImageDraw.ImageDraw,
    texts: Sequence[str],
    box: tuple[int, int, int],
    *,
    font_pt: float = 12.0,
    dpi: int = DPI,
    arabic_font: str = pdfgen.ARABIC_FONT,
    latin_font: str = pdfgen.LATIN_FONT,
    fill: int | tuple[int, int, int] = 0,
) -> tuple[int, list[str]]:
    """Draw ``texts`` wrapped between ``x0`` and ``x1`` from ``y``; ``box = (x0, x1, y)``.

    A paragraph mixing both scripts is drawn as one line, each script run in its own
    font, runs ordered by the paragraph's direction. Returns the y below the last line
    and the lines drawn (in order).
    """
    x0, x1, y = box
    size_px = round(font_pt / 72 * dpi)
    line_gap = round(size_px * 1.6)
    fonts = (pdfgen._font(arabic_font, size_px), pdfgen._font(latin_font, size_px))
    drawn: list[str] = []
    for text in texts:
        rtl = _is_rtl(text)
        if _has_arabic(text) and any(c.isascii() and c.isalpha() for c in text):
            _draw_mixed_line(draw, text, (x0, x1, y), fonts, rtl, fill)
            drawn.append(text)
            y += line_gap + size_px
            continue
        font = fonts[0] if rtl else fonts[1]
        kwargs = {"direction": "rtl", "language": "ar"} if rtl else {}
        for line in pdfgen._wrap(text, font, x1 - x0, rtl):
            if rtl:
                length = font.getlength(line, **kwargs)
                draw.text((x1 - length, y), line, fill=fill, font=font, **kwargs)
            else:
                draw.text((x0, y), line, fill=fill, font=font)
            drawn.append(line)
            y += line_gap
        y += size_px
    return y, drawn


def _draw_mixed_line(draw, text, box, fonts, rtl, fill) -> None:
    """One line whose words switch script: runs of same-script words, laid out in visual
    order (right to left for an RTL line), each run shaped in its own direction."""
    runs: list[tuple[bool, list[str]]] = []
    for word in text.split():
        arabic = _has_arabic(word)
        if runs and runs[-1][0] == arabic:
            runs[-1][1].append(word)
        else:
            runs.append((arabic, [word]))
    x0, x1, y = box
    space = fonts[1].getlength(" ")
    pieces = []
    for arabic, words in runs:
        run = " ".join(words)
        kwargs = {"direction": "rtl", "language": "ar"} if arabic else {}
        font = fonts[0] if arabic else fonts[1]
        pieces.append((run, font, kwargs, font.getlength(run, **kwargs)))
    x = x1 if rtl else x0
    for run, font, kwargs, length in pieces:
        left = x - length if rtl else x
        draw.text((left, y), run, fill=fill, font=font, **kwargs)
        x = left - space if rtl else x + length + space


def flow_page(
    texts: Sequence[str], *, font_pt: float = 12.0, margin_in: float = 0.9, **fonts: str
) -> tuple[Image.Image, str]:
    """Paragraphs over the full text width of an A4 page."""
    img = Image.new("L", A4_PX, 255)
    margin = round(margin_in * DPI)
    draw_paragraphs(
        ImageDraw.Draw(img), texts, (margin, A4_PX[0] - margin, margin), font_pt=font_pt, **fonts
    )
    return img, " ".join(texts)


def columns_page(
    rng: random.Random, *, arabic: bool, page_number: int = 3
) -> tuple[Image.Image, str]:
    """Header line, two columns of paragraphs, centred page number in the footer."""
    img = Image.new("L", A4_PX, 255)
    draw = ImageDraw.Draw(img)
    margin, gutter = round(0.8 * DPI), round(0.45 * DPI)
    width = A4_PX[0]
    header = "التقرير السنوي للمجلس البلدي" if arabic else "Annual Report of the City Council"
    y, _ = draw_paragraphs(draw, [header], (margin, width - margin, margin), font_pt=14)
    draw.line((margin, y - 30, width - margin, y - 30), fill=0, width=3)
    mid = width // 2
    left_box = (margin, mid - gutter // 2)
    right_box = (mid + gutter // 2, width - margin)
    texts = paragraphs(rng, arabic, 6, 2)
    first, second = texts[:3], texts[3:]
    # The first column in reading order is the right one for Arabic.
    first_box, second_box = (right_box, left_box) if arabic else (left_box, right_box)
    draw_paragraphs(draw, first, (*first_box, y + 40), font_pt=11)
    draw_paragraphs(draw, second, (*second_box, y + 40), font_pt=11)
    footer = str(page_number)
    font = pdfgen._font(pdfgen.LATIN_FONT, round(11 / 72 * DPI))
    draw.text((mid - font.getlength(footer) / 2, A4_PX[1] - margin), footer, fill=0, font=font)
    return img, " ".join([header, *first, *second, footer])


def table_page(rng: random.Random, *, arabic: bool, rows: int = 8) -> tuple[Image.Image, str]:
    """A ruled 4-column table under a title; truth is row by row in the row's direction."""
    source = ARABIC_TABLE if arabic else ENGLISH_TABLE
    order = list(range(len(source["names"])))
    rng.shuffle(order)
    body = [
        (
            source["names"][i],
            source["cities"][(i + 3) % 8],
            str(rng.randint(21, 64)),
            source["jobs"][i],
        )
        for i in order[:rows]
    ]
    table = [source["header"], *body]
    img = Image.new("L", A4_PX, 255)
    draw = ImageDraw.Draw(img)
    margin = round(0.9 * DPI)
    title = "قائمة الموظفين في الفرع الرئيسي" if arabic else "Staff of the main branch"
    y, _ = draw_paragraphs(draw, [title], (margin, A4_PX[0] - margin, margin), font_pt=14)
    size_px = round(12 / 72 * DPI)
    font = pdfgen._font(pdfgen.ARABIC_FONT if arabic else pdfgen.LATIN_FONT, size_px)
    kwargs = {"direction": "rtl", "language": "ar"} if arabic else {}
    col_w = (A4_PX[0] - 2 * margin) // 4
    row_h = round(size_px * 2.2)
    top = y + 20
    for r, row in enumerate(table):
        cells = list(reversed(row)) if arabic else list(row)  # visual left-to-right
        for c, cell in enumerate(cells):
            x = margin + c * col_w
            length = font.getlength(cell, **kwargs)
            tx = x + col_w - length - 30 if arabic else x + 30
            draw.text((tx, top + r * row_h + row_h * 0.2), cell, fill=0, font=font, **kwargs)
    for r in range(len(table) + 1):
        draw.line((margin, top + r * row_h, margin + 4 * col_w, top + r * row_h), fill=0, width=4)
    for c in range(5):
        x = margin + c * col_w
        draw.line((x, top, x, top + len(table) * row_h), fill=0, width=4)
    truth = " ".join([title, *(" ".join(row) for row in table)])
    return img, truth


# --------------------------------------------------------------------------- defects


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert(img.mode)


def _dust(gray: np.ndarray, rng: np.random.Generator, density: float, value: int = 0) -> None:
    """Paint small round specks (1-3 px radius) at ``density`` per pixel, in place."""
    h, w = gray.shape
    count = int(density * h * w)
    ys, xs = rng.integers(0, h, count), rng.integers(0, w, count)
    radii = rng.integers(1, 4, count)
    for x, y, r in zip(xs, ys, radii, strict=True):
        cv2.circle(gray, (int(x), int(y)), int(r), value, -1)


def speckle(img: Image.Image, *, seed: int = 1, density: float = 4e-4) -> Image.Image:
    """Scanner dust (dark specks), slight blur, sensor noise and JPEG artefacts."""
    rng = np.random.default_rng(seed)
    gray = np.array(img.convert("L"))
    _dust(gray, rng, density)
    blurred = cv2.GaussianBlur(gray, (0, 0), 0.9).astype(np.float32)
    noisy = np.clip(blurred + rng.normal(0, 14, gray.shape), 0, 255).astype(np.uint8)
    return _jpeg(Image.fromarray(noisy, "L"), 45)


def fax(img: Image.Image, *, seed: int = 2) -> tuple[Image.Image, int]:
    """150 dpi, hard threshold, specks and a few dropped-out rows. Returns (image, dpi)."""
    rng = np.random.default_rng(seed)
    small = img.convert("L").resize((img.width // 2, img.height // 2), Image.Resampling.BILINEAR)
    gray = np.array(small, dtype=np.float32) + rng.normal(0, 25, (small.height, small.width))
    binary = np.where(gray < 150, 0, 255).astype(np.uint8)
    _dust(binary, rng, 2e-4)
    light = rng.random(binary.shape) < 0.004  # salt: toner drop-outs inside strokes
    binary[light] = 255
    return Image.fromarray(binary, "L"), DPI // 2


def phone_photo(img: Image.Image, *, seed: int = 3) -> Image.Image:
    """Uneven light with a dark edge, grey text, soft focus, sensor noise, JPEG."""
    rng = np.random.default_rng(seed)
    gray = np.array(img.convert("L"), dtype=np.float32) / 255.0
    h, w = gray.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # A light falling off towards the bottom-left corner, plus a shadow band on the left.
    light = 230 - 110 * ((xx / w - 1) ** 2 + (yy / h) ** 2) / 2
    light -= 110 * np.clip(1 - xx / (0.14 * w), 0, 1) ** 0.7  # a hand's shadow
    ink = 0.45 * light  # grey text: the ink is lit like the paper around it
    page = ink + (light - ink) * gray
    page = cv2.GaussianBlur(page, (0, 0), 2.0)
    page += rng.normal(0, 7, page.shape)
    return _jpeg(Image.fromarray(np.clip(page, 0, 255).astype(np.uint8), "L"), 70)


def photocopy(img: Image.Image, *, seed: int = 4) -> Image.Image:
    """Low contrast (grey paper, faded toner), toner noise and a vertical streak."""
    rng = np.random.default_rng(seed)
    gray = np.array(img.convert("L"), dtype=np.float32) / 255.0
    page = 120 + (195 - 120) * gray + rng.normal(0, 9, gray.shape)
    x = int(rng.integers(gray.shape[1] // 5, gray.shape[1] // 3))
    page[:, x : x + 6] -= 35
    page = cv2.GaussianBlur(page, (0, 0), 0.7)
    return Image.fromarray(np.clip(page, 0, 255).astype(np.uint8), "L")


def tinted(img: Image.Image, *, paper=(250, 232, 170), ink=(25, 45, 125)) -> Image.Image:
    """Coloured paper and ink (an ``RGB`` image)."""
    gray = np.array(img.convert("L"), dtype=np.float32)[..., None] / 255.0
    rgb = np.array(ink, np.float32) + (np.array(paper, np.float32) - np.array(ink)) * gray
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def stamp(img: Image.Image, *, seed: int = 5, colour=(40, 60, 200)) -> Image.Image:
    """A translucent double-ring ink stamp with a star over the text (an ``RGB`` image)."""
    rng = random.Random(seed)
    base = img.convert("RGB")
    layer = Image.new("L", base.size, 0)
    draw = ImageDraw.Draw(layer)
    cx, cy = rng.randint(base.width // 2, base.width - 500), rng.randint(700, base.height // 2)
    for radius, width in ((260, 14), (215, 6)):
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=255, width=width)
    points = []
    for k in range(10):
        angle = np.pi / 2 + k * np.pi / 5
        r = 120 if k % 2 == 0 else 50
        points.append((cx + r * np.cos(angle), cy - r * np.sin(angle)))
    draw.polygon(points, fill=255)
    alpha = layer.filter(ImageFilter.GaussianBlur(1.5)).point(lambda v: v * 0.55)
    ink = Image.new("RGB", base.size, colour)
    return Image.composite(ink, base, alpha)
