"""Generate test PDFs for the OCR engine at test time (no binary fixtures).

Text is rendered to images with Pillow (Arabic shaped right-to-left through libraqm)
and embedded as *image-only* PDF pages, so the OCR path is what gets exercised.
Separate helpers build a page with a real text layer (fpdf2) and a set of hostile /
invalid inputs for :func:`ocr.engine.inspect_pdf`.

Main helpers (all return ``bytes`` of a PDF unless noted):

* :func:`text_image` -> ``PIL.Image`` of wrapped paragraphs (script picked per paragraph).
* :func:`image_pdf` -> image-only PDF from one or more images.
* :func:`degrade`, :func:`skew`, :func:`rotate_quarter` -> image variants.
* :func:`text_layer_pdf` -> PDF with a real (extractable) text layer;
  :func:`arabic_text_layer_pdf` -> Arabic text layer in logical or visual order;
  :func:`owner_password_pdf` -> permissions-only encryption (opens without a password).
* :func:`not_a_pdf`, :func:`truncated_pdf`, :func:`encrypted_pdf`, :func:`zero_page_pdf`,
  :func:`many_pages_pdf`, :func:`tiny_page_pdf`, :func:`huge_mediabox_pdf`,
  :func:`flate_bomb_pdf` -> bad inputs.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, features

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/opentype/fonts-hosny-amiri"),
    Path("/usr/share/fonts/truetype/amiri"),
)
LATIN_FONT = "NotoSans-Regular.ttf"
ARABIC_FONT = "NotoNaskhArabic-Regular.ttf"

ENGLISH_TEXT = (
    "The city library opened a new reading room last spring. It is a quiet place with "
    "large windows, long wooden tables and shelves full of books about history, science "
    "and travel. Students come in the morning to prepare for their exams, while older "
    "visitors prefer the afternoon, when the light is softer. The librarians say that the "
    "number of visitors has doubled since the room opened, and they plan to extend the "
    "opening hours during the summer holidays."
)

ARABIC_TEXT = (
    "تعد القراءة من أهم الوسائل التي يكتسب بها الإنسان المعرفة، فهي تفتح أمامه أبواب "
    "العلوم والثقافات المختلفة. وقد اهتمت المجتمعات منذ القدم بإنشاء المكتبات العامة "
    "لتكون مراكز للبحث والتعلم. وفي العصر الحديث أصبحت الكتب الرقمية متاحة للجميع عبر "
    "الشبكة، مما ساعد الطلاب والباحثين على الوصول إلى المصادر بسرعة وسهولة. ولذلك ينبغي "
    "أن نشجع الأطفال على حب القراءة منذ الصغر، وأن نوفر لهم الكتب المناسبة لأعمارهم."
)

MIXED_ARABIC = (
    "يقدم المعرض الدولي للكتاب هذا العام برنامجا ثقافيا غنيا يشمل الندوات والأمسيات "
    "الشعرية وورش العمل للأطفال."
)
MIXED_ENGLISH = (
    "The international book fair offers a rich cultural programme this year, with "
    "seminars, poetry evenings and workshops for children."
)

DENSE_ENGLISH = (
    "Public transport in large cities depends on careful planning. Engineers study how "
    "people move between their homes, schools and offices, and they use this data to "
    "design bus routes, train lines and cycling paths. A good network reduces traffic, "
    "saves time and improves the quality of the air that everyone breathes."
)
DENSE_ARABIC = (
    "يعتمد النقل العام في المدن الكبيرة على التخطيط الدقيق، إذ يدرس المهندسون حركة الناس "
    "بين منازلهم ومدارسهم وأماكن عملهم، ويستخدمون هذه البيانات لتصميم خطوط الحافلات "
    "والقطارات ومسارات الدراجات. والشبكة الجيدة تقلل الازدحام وتوفر الوقت."
)


def has_raqm() -> bool:
    """True when Pillow can shape complex scripts (libraqm present)."""
    return bool(features.check("raqm"))


@cache
def font_path(name: str) -> str:
    for folder in FONT_DIRS:
        candidate = folder / name
        if candidate.exists():
            return str(candidate)
    raise FileNotFoundError(f"font {name} not found in {FONT_DIRS}")


@cache
def _font(name: str, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_path(name), size_px, layout_engine=ImageFont.Layout.RAQM)


def _is_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int, rtl: bool) -> list[str]:
    kwargs = {"direction": "rtl", "language": "ar"} if rtl else {}
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and font.getlength(trial, **kwargs) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


def text_image(
    paragraphs: Sequence[str] | str,
    *,
    dpi: int = 300,
    font_pt: float = 14.0,
    page_in: tuple[float, float] = (8.27, 11.69),
    margin_in: float = 1.0,
    arabic_font: str = ARABIC_FONT,
    latin_font: str = LATIN_FONT,
) -> Image.Image:
    """Render paragraphs (Arabic ones right-aligned, RTL) on an A4 white grayscale image.

    Each paragraph picks its font and direction from its script. Returns an ``L`` image.
    """
    if isinstance(paragraphs, str):
        paragraphs = [paragraphs]
    if any(_is_arabic(p) for p in paragraphs) and not has_raqm():
        raise RuntimeError("Pillow lacks libraqm: install Debian's libraqm0 to shape Arabic")
    width_px, height_px = round(page_in[0] * dpi), round(page_in[1] * dpi)
    margin = round(margin_in * dpi)
    size_px = round(font_pt / 72 * dpi)
    img = Image.new("L", (width_px, height_px), 255)
    draw = ImageDraw.Draw(img)
    y = margin
    line_gap = round(size_px * 1.6)
    text_width = width_px - 2 * margin
    for paragraph in paragraphs:
        rtl = _is_arabic(paragraph)
        font = _font(arabic_font if rtl else latin_font, size_px)
        for line in _wrap(paragraph, font, text_width, rtl):
            if rtl:
                length = font.getlength(line, direction="rtl", language="ar")
                draw.text(
                    (width_px - margin - length, y),
                    line,
                    fill=0,
                    font=font,
                    direction="rtl",
                    language="ar",
                )
            else:
                draw.text((margin, y), line, fill=0, font=font)
            y += line_gap
        y += size_px  # blank space between paragraphs
    return img


def degrade(
    img: Image.Image, *, seed: int = 7, sigma: float = 18.0, quality: int = 60
) -> Image.Image:
    """Slight blur, Gaussian noise, then a JPEG round trip at ``quality``."""
    blurred = img.filter(ImageFilter.GaussianBlur(0.8))
    rng = np.random.default_rng(seed)
    arr = np.asarray(blurred, dtype=np.float32) + rng.normal(0.0, sigma, blurred.size[::-1])
    noisy = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    buf = io.BytesIO()
    noisy.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("L")


def skew(img: Image.Image, angle_deg: float) -> Image.Image:
    """Rotate counter-clockwise by ``angle_deg`` (PIL convention) with white fill."""
    return img.rotate(angle_deg, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def rotate_quarter(img: Image.Image, degrees: int) -> Image.Image:
    """Rotate counter-clockwise by 90/180/270 degrees (lossless)."""
    ops = {
        90: Image.Transpose.ROTATE_90,
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_270,
    }
    return img.transpose(ops[degrees])


def image_pdf(
    images: Image.Image | Sequence[Image.Image], *, dpi: int = 300, jpeg_quality: int | None = None
) -> bytes:
    """Image-only PDF, one page per image, page size = image size at ``dpi``.

    ``RGB`` images stay in colour (DeviceRGB); any other mode is stored as 8-bit gray.
    Images are stored losslessly (FlateDecode) unless ``jpeg_quality`` is
    given (DCTDecode, like a scanner's JPEG output). Pillow's own PDF writer is not used
    because it always JPEG-compresses grayscale images.
    """
    if isinstance(images, Image.Image):
        images = [images]
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for image in images:
        gray = image.convert("RGB" if image.mode == "RGB" else "L")
        space = b"/DeviceRGB" if gray.mode == "RGB" else b"/DeviceGray"
        if jpeg_quality is None:
            data, filt = zlib.compress(gray.tobytes(), 6), b"/FlateDecode"
        else:
            buf = io.BytesIO()
            gray.save(buf, "JPEG", quality=jpeg_quality)
            data, filt = buf.getvalue(), b"/DCTDecode"
        width_pt, height_pt = gray.width * 72 / dpi, gray.height * 72 / dpi
        first = len(objects) + 1  # page, content, image objects
        content = b"q %.3f 0 0 %.3f 0 0 cm /Im0 Do Q" % (width_pt, height_pt)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.3f %.3f] /Contents %d 0 R "
            b"/Resources << /XObject << /Im0 %d 0 R >> >> >>"
            % (width_pt, height_pt, first + 1, first + 2)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        objects.append(
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s "
            b"/BitsPerComponent 8 /Filter %s /Length %d >>\nstream\n"
            % (gray.width, gray.height, space, filt, len(data))
            + data
            + b"\nendstream"
        )
        kids.append(b"%d 0 R" % first)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    return _assemble(objects)


def text_layer_pdf(text: str = ENGLISH_TEXT, *, arabic: bool = False) -> bytes:
    """A4 page with a real text layer written by fpdf2 using a TTF font."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    if arabic:
        pdf.add_font("naskh", fname=font_path(ARABIC_FONT))
        pdf.set_font("naskh", size=14)
        pdf.set_text_shaping(True)
        align = "R"
    else:
        pdf.add_font("sans", fname=font_path(LATIN_FONT))
        pdf.set_font("sans", size=12)
        align = "L"
    pdf.set_margins(72, 72, 72)
    pdf.set_xy(72, 72)
    pdf.multi_cell(w=0, h=20, text=text, align=align)
    return bytes(pdf.output())


def arabic_text_layer_pdf(*, logical: bool = True, words_per_line: int = 8) -> bytes:
    """A page whose text layer holds :data:`ARABIC_TEXT` (fpdf2, no shaping available).

    ``logical=True`` draws each line's characters reversed, so text extraction (which
    reads glyphs left to right) yields correct logical-order Arabic. ``logical=False``
    draws logical strings left to right like a naive producer, so extraction yields
    reversed (visual-order) Arabic, which the engine must not trust.
    """
    from fpdf import FPDF

    words = ARABIC_TEXT.split()
    lines = [" ".join(words[i : i + words_per_line]) for i in range(0, len(words), words_per_line)]
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.add_font("naskh", fname=font_path(ARABIC_FONT))
    pdf.set_font("naskh", size=14)
    pdf.set_xy(72, 72)
    for line in lines:
        pdf.cell(w=0, h=24, text=line[::-1] if logical else line, align="R")
        pdf.ln()
    return bytes(pdf.output())


def owner_password_pdf() -> bytes:
    """Encrypted with an owner password only: opens without a password."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(w=0, text=ENGLISH_TEXT)
    pdf.set_encryption(owner_password="owner-pass")
    return bytes(pdf.output())


# --------------------------------------------------------------------------- bad inputs


def not_a_pdf() -> bytes:
    return b"PK\x03\x04 this is a zip file, or maybe a spreadsheet\n" * 40


def truncated_pdf() -> bytes:
    data = image_pdf(Image.new("L", (400, 400), 255), dpi=72)
    return data[: len(data) // 3]


def encrypted_pdf() -> bytes:
    """fpdf2 page protected by a user password (cannot be opened without it)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="secret")
    pdf.set_encryption(owner_password="owner-pass", user_password="user-pass")
    return bytes(pdf.output())


def _assemble(objects: Sequence[bytes]) -> bytes:
    """Serialise numbered objects (1-based, object 1 = catalog) with a valid xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def zero_page_pdf() -> bytes:
    return _assemble(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    )


def _pages_pdf(count: int, mediabox: str, content: bytes = b"") -> bytes:
    """``count`` pages sharing one content stream (object 3); pages start at object 4."""
    kids = b" ".join(b"%d 0 R" % (4 + i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [" + mediabox.encode() + b"] "
    page += b"/Contents 3 0 R /Resources << >> >>"
    objects.extend([page] * count)
    return _assemble(objects)


def many_pages_pdf(count: int = 2000) -> bytes:
    return _pages_pdf(count, "0 0 612 792")


def tiny_page_pdf() -> bytes:
    return _pages_pdf(1, "0 0 1 1")


def huge_mediabox_pdf(inches: float = 200.0) -> bytes:
    side = inches * 72
    return _pages_pdf(1, f"0 0 {side:g} {side:g}")


def flate_bomb_pdf(side_px: int = 30000) -> bytes:
    """A normal A4 page drawing a ~0.5 MB flate stream that inflates to a huge bitmap.

    The 1-bit ``side_px`` x ``side_px`` all-black image is ~110 MB of packed bits and
    ~900 megapixels once pdfium expands it, while the page box itself looks harmless,
    so only a declared-image-size check can catch it before rendering.
    """
    row = b"\x00" * ((side_px + 7) // 8)
    comp = zlib.compressobj(1)
    stream = b"".join(comp.compress(row) for _ in range(side_px)) + comp.flush()
    content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 3 0 R "
        b"/Resources << /XObject << /Im0 5 0 R >> >> >>",
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
        b"/BitsPerComponent 1 /Filter /FlateDecode /Length %d >>\nstream\n"
        % (side_px, side_px, len(stream))
        + stream
        + b"\nendstream",
    ]
    return _assemble(objects)
