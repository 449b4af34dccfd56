"""Number-heavy business documents for OCR tests and the quality bench.

Invoices, circulars and forms the way they are printed: Arabic-Indic (٠١٢٣٤٥٦٧٨٩),
Eastern Arabic-Indic (Persian ۰۱۲۳۴۵۶۷۸۹) or Western digits, ``٬ ٫ , .`` separators, dates
(``٤٧/٢٠٢٥``, ``12/03/2025``), phone numbers, an IBAN inside an Arabic line, currency
signs (﷼ SAR $), tables of amounts. Each document is written as HTML and laid out by
Chromium (the browser's full bidi algorithm and font fallback, as a word processor would),
printed to PDF and rasterised with pdfium: a page image and its text in reading order.

Every generator is seeded: the same ``random.Random`` gives the same page and truth.
``render(browser, doc, dpi)`` needs a Playwright ``Browser`` (the tests' ``browser``
fixture, or :func:`launch` for the bench).
"""

from __future__ import annotations

import html
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pypdfium2 as pdfium
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]

ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
# thousands, decimal separators per digit system
SEPARATORS = {"western": (",", "."), "arabic": ("٬", "٫"), "persian": ("٬", "٫")}
# Numbers as whole tokens: digits of any system with inner separators (1,250.00 ٤٧/٢٠٢٥).
NUMBER_RE = re.compile(r"[0-9٠-٩۰-۹]+(?:[٫٬,./:\-][0-9٠-٩۰-۹]+)*")

FONTS = {
    "naskh": "'Noto Naskh Arabic', 'Noto Sans', sans-serif",
    "amiri": "'Amiri', 'Noto Serif', serif",
    "sans_arabic": "'Noto Sans Arabic', 'Noto Sans', sans-serif",
}


def digits(text: str, system: str) -> str:
    """``text`` (Western digits) with its digits in ``system``: western, arabic, persian."""
    if system == "western":
        return text
    table = ARABIC_DIGITS if system == "arabic" else PERSIAN_DIGITS
    return "".join(table[int(ch)] if ch.isascii() and ch.isdigit() else ch for ch in text)


def amount(value_cents: int, system: str, *, decimals: bool = True) -> str:
    """An amount with grouped thousands (and two decimals) in ``system``'s separators."""
    thousands, decimal = SEPARATORS[system]
    whole = f"{value_cents // 100:,}".replace(",", thousands)
    text = f"{whole}{decimal}{value_cents % 100:02d}" if decimals else whole
    return digits(text, system)


def numbers(text: str) -> list[str]:
    """The number tokens of ``text`` in order (see :data:`NUMBER_RE`)."""
    return NUMBER_RE.findall(text)


@dataclass(slots=True)
class Document:
    """Blocks of one page: ``("h", text)``, ``("p", text)``, ``("p_ltr", text)`` (a
    left-to-right paragraph in a right-to-left page) or ``("table", rows)``."""

    rtl: bool
    font: str
    blocks: list[tuple[str, object]] = field(default_factory=list)
    size_pt: float = 12.0

    def truth(self) -> str:
        """The text in reading order: blocks top to bottom, table rows cell by cell in the
        page's direction."""
        parts: list[str] = []
        for kind, content in self.blocks:
            if kind == "table":
                parts.extend(" ".join(row) for row in content)  # type: ignore[union-attr]
            else:
                parts.append(str(content))
        return "\n".join(parts)

    def html(self) -> str:
        body = []
        for kind, content in self.blocks:
            if kind == "table":
                rows = "".join(
                    "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                    for row in content  # type: ignore[union-attr]
                )
                body.append(f"<table>{rows}</table>")
            else:
                tag = "h1" if kind == "h" else "p"
                attrs = ' dir="ltr"' if kind == "p_ltr" else ""
                body.append(f"<{tag}{attrs}>{html.escape(str(content))}</{tag}>")
        direction, lang = ("rtl", "ar") if self.rtl else ("ltr", "en")
        return f"""<!doctype html><html dir="{direction}" lang="{lang}"><head><meta charset="utf-8">
<style>
@page {{ size: A4; margin: 22mm 20mm; }}
body {{ font-family: {FONTS[self.font]}; font-size: {self.size_pt}pt; line-height: 1.7;
  color: #000; }}
h1 {{ font-size: {self.size_pt * 1.5:.1f}pt; margin: 0 0 10pt; font-weight: normal; }}
p {{ margin: 0 0 8pt; }}
table {{ border-collapse: collapse; width: 100%; margin: 6pt 0 12pt; }}
td {{ border: 1px solid #000; padding: 4pt 9pt; }}
</style></head><body>{"".join(body)}</body></html>"""


@contextmanager
def launch() -> Iterator[object]:
    """A headless Chromium for :func:`render` (outside pytest's ``browser`` fixture)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def print_pdf(browser, doc: Document) -> bytes:
    """The document printed by Chromium (a PDF with a real text layer)."""
    page = browser.new_page()
    try:
        page.set_content(doc.html(), wait_until="load")
        page.evaluate("document.fonts.ready")
        return page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    finally:
        page.close()


def render(browser, doc: Document, dpi: int = 300) -> tuple[Image.Image, str]:
    """The document's first page as a grayscale image at ``dpi``, and its truth."""
    pdf = pdfium.PdfDocument(print_pdf(browser, doc))
    try:
        page = pdf[0]
        image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
        page.close()
    finally:
        pdf.close()
    return image, doc.truth()


# --------------------------------------------------------------------------- documents

_ITEMS = (
    "ورق طباعة مقاس A4",
    "حبر طابعة أسود",
    "كرسي مكتب",
    "خزانة ملفات معدنية",
    "شاشة حاسوب",
    "لوحة مفاتيح عربية",
    "مصباح مكتب",
    "آلة حاسبة",
)
_BANKS = ("مصرف الراجحي", "البنك الأهلي السعودي", "بنك الرياض")
_CITIES = ("الرياض", "جدة", "الدمام", "مكة المكرمة")


def _date(rng: random.Random, year: int = 2025) -> str:
    return f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year}"


def _phone(rng: random.Random) -> str:
    return "05" + "".join(str(rng.randint(0, 9)) for _ in range(8))


def invoice(
    rng: random.Random, system: str = "arabic", font: str = "naskh", size_pt: float = 12.0
) -> Document:
    """An Arabic tax invoice: numbers, a date, a table of amounts, totals, an IBAN."""

    def d(text: str) -> str:
        return digits(text, system)

    number = rng.randint(1000, 9999)
    rows = [("البند", "الكمية", "سعر الوحدة", "المجموع")]
    subtotal = 0
    for item in rng.sample(_ITEMS, 4):
        quantity = rng.randint(1, 40)
        unit = rng.randint(350, 480000)  # cents
        subtotal += quantity * unit
        rows.append((item, d(str(quantity)), amount(unit, system), amount(quantity * unit, system)))
    vat = subtotal * 15 // 100
    currency = "﷼" if system != "western" else "ريال"
    doc = Document(rtl=True, font=font, size_pt=size_pt)
    doc.blocks += [
        ("h", f"فاتورة ضريبية رقم {d(str(number))}"),
        ("p", f"شركة النخيل للتجارة، {rng.choice(_CITIES)}، هاتف {d(_phone(rng))}"),
        ("p", f"تاريخ الإصدار: {d(_date(rng))} تاريخ الاستحقاق: {d(_date(rng))}"),
        ("p", f"الرقم الضريبي: {d('3' + ''.join(str(rng.randint(0, 9)) for _ in range(14)))}"),
        ("table", rows),
        ("p", f"المجموع قبل الضريبة: {amount(subtotal, system)} {currency}"),
        ("p", f"ضريبة القيمة المضافة {d('15')}٪: {amount(vat, system)} {currency}"),
        ("p", f"الإجمالي المستحق: {amount(subtotal + vat, system)} {currency}"),
        (
            "p",
            f"يرجى التحويل إلى الحساب SA03 8000 0000 6080 1016 7519 لدى {rng.choice(_BANKS)}"
            f" خلال {d(str(rng.choice((15, 30, 45))))} يوما.",
        ),
    ]
    return doc


def circular(
    rng: random.Random, system: str = "arabic", font: str = "amiri", size_pt: float = 13.0
) -> Document:
    """An Arabic circular: reference number and dates, articles, fines, times, phones;
    an English reference inside an Arabic line."""

    def d(text: str) -> str:
        return digits(text, system)

    ref = rng.randint(12, 98)
    decree = rng.randint(1000, 9999)
    fine = rng.choice((5000, 10000, 25000))
    doc = Document(rtl=True, font=font, size_pt=size_pt)
    doc.blocks += [
        ("h", f"تعميم رقم {d(f'{ref}/2025')}"),
        ("p", f"التاريخ: {d(_date(rng))}م الموافق {d(_date(rng, 1446))}هـ"),
        ("p", f"إشارة إلى التعميم Circular No. {ref} الصادر بتاريخ {d(_date(rng))}"),
        (
            "p",
            f"بناء على القرار الوزاري رقم {d(str(decree))} بتاريخ {d(_date(rng))} وإلى ما ورد في"
            f" المادة {d(str(rng.randint(3, 60)))} من النظام، يعمل بهذا التعميم اعتبارا من"
            f" {d(_date(rng))} ولمدة {d(str(rng.choice((30, 60, 90))))} يوما.",
        ),
        (
            "p",
            f"تبلغ الغرامة {amount(fine * 100, system, decimals=False)} ريال عن كل مخالفة، وتضاعف"
            f" إلى {amount(fine * 200, system, decimals=False)} ريال عند التكرار.",
        ),
        (
            "p",
            f"يعقد الاجتماع يوم الأحد الساعة {d(f'{rng.randint(8, 12)}:30')} في القاعة رقم"
            f" {d(str(rng.randint(2, 9)))} بالطابق {d(str(rng.randint(2, 7)))}.",
        ),
        (
            "p",
            f"للاستفسار يرجى الاتصال على الرقم {d('9200' + str(rng.randint(10000, 99999)))}"
            f" أو الفاكس {d('011' + str(rng.randint(1000000, 9999999)))}.",
        ),
    ]
    return doc


def bilingual_form(rng: random.Random, font: str = "sans_arabic") -> Document:
    """An English form with Arabic labels and values: Western numbers in English lines,
    Arabic-Indic ones in Arabic lines, an IBAN, dollars and riyals."""
    ref = f"2025/{rng.randint(100, 999):04d}"
    riyals = rng.randint(10000, 900000)
    dollars = riyals * 100 // 375
    national_id = "1" + "".join(str(rng.randint(0, 9)) for _ in range(9))
    doc = Document(rtl=False, font=font)
    doc.blocks += [
        ("h", "Application Form نموذج طلب"),
        ("p", f"Reference No. {ref} Date {_date(rng)}"),
        ("p", f"رقم المرجع {digits(ref, 'arabic')} بتاريخ {digits(_date(rng), 'arabic')}"),
        ("p", "Applicant: Ahmed Al-Harbi الاسم: أحمد الحربي"),
        ("p", f"Mobile +966 {_phone(rng)[1:]} National ID {national_id}"),
        (
            "p",
            f"رقم الهوية {digits(national_id, 'arabic')} والجوال {digits(_phone(rng), 'arabic')}",
        ),
        ("p", f"Amount requested: ${amount(dollars, 'western')} (SAR {amount(riyals, 'western')})"),
        ("p", f"المبلغ المطلوب {amount(riyals, 'arabic')} ﷼"),
        ("p", "IBAN: SA03 8000 0000 6080 1016 7519"),
        ("p", f"Invoice {rng.randint(1000, 9999)} is attached to this form."),
    ]
    return doc


def persian_form(rng: random.Random, font: str = "naskh") -> Document:
    """A Persian request form with Eastern Arabic-Indic digits (۰-۹) and ٬ ٫ separators."""

    def d(text: str) -> str:
        return digits(text, "persian")

    rial = rng.randint(100000, 9000000) * 100
    doc = Document(rtl=True, font=font)
    doc.blocks += [
        ("h", f"فرم درخواست شماره {d(str(rng.randint(1000, 9999)))}"),
        ("p", f"تاریخ: {d(f'1403/{rng.randint(1, 12):02d}/{rng.randint(1, 29):02d}')}"),
        ("p", f"کد ملی: {d('00' + str(rng.randint(10000000, 99999999)))}"),
        ("p", f"تلفن: {d('021' + str(rng.randint(10000000, 99999999)))}"),
        ("p", f"مبلغ: {amount(rial, 'persian', decimals=False)} ریال"),
        ("p", f"نرخ سود سالانه {d(f'{rng.randint(10, 29)}')}٫{d(str(rng.randint(1, 9)))} درصد"),
        ("p", f"مدت قرارداد {d(str(rng.choice((12, 24, 36, 48))))} ماه"),
    ]
    return doc


_MIXED_ARABIC = (
    "يستخدم الفريق لغة Python {v} وإطار Django {d} في المشروع منذ عام {y}.",
    "وصلت الشحنة رقم {n} إلى ميناء Jebel Ali يوم {date} بعد {k} أيام من الإبحار.",
    "حضر المؤتمر {k}0 مشاركا من شركات مثل Microsoft و Aramco و SABIC.",
    "يمكن تحميل التقرير من الموقع www.example.com أو طلبه عبر البريد info@example.com.",
    "بلغت مبيعات الربع الأول {amount} دولار بزيادة {p}% عن العام الماضي.",
    "اجتمع مجلس الإدارة في فندق Hilton الساعة {t} لمناقشة خطة {y}.",
)
_MIXED_ENGLISH = (
    "The word مدرسة means school, and the plural is مدارس.",
    "Our office in الرياض opens at {t} from Sunday to Thursday.",
    "Invoice {n} was issued by شركة النخيل on {date}.",
)


def mixed_page(rng: random.Random, font: str = "naskh") -> Document:
    """Arabic paragraphs with English names, versions, addresses and Western numbers
    inside them, and English lines with Arabic words: what bilingual offices write."""
    values = {
        "v": rng.choice(("3.11", "3.12", "3.13")),
        "d": rng.choice(("4.2", "5.1", "5.2")),
        "y": str(rng.randint(2019, 2025)),
        "n": str(rng.randint(1000, 99999)),
        "date": _date(rng),
        "k": str(rng.randint(3, 9)),
        "amount": amount(rng.randint(10**7, 10**9), "western", decimals=False),
        "p": str(rng.randint(3, 40)),
        "t": f"{rng.randint(8, 11)}:{rng.choice(('00', '15', '30', '45'))}",
    }
    arabic = [line.format(**values) for line in rng.sample(_MIXED_ARABIC, 5)]
    english = [line.format(**values) for line in rng.sample(_MIXED_ENGLISH, 2)]
    doc = Document(rtl=True, font=font)
    doc.blocks += [("h", "نشرة الأخبار الداخلية")]
    doc.blocks += [("p", text) for text in arabic[:3]]
    doc.blocks += [("p_ltr", text) for text in english]
    doc.blocks += [("p", text) for text in arabic[3:]]
    return doc
