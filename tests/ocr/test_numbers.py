"""Numbers on rendered business pages: Arabic-Indic, Persian and Western digits, separators,
dates and amounts inside right-to-left lines, an IBAN in reading order; and the pieces
behind them (logical order of a line's words, one Eastern digit system per page)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

import pytest

from ocr.engine import cer, latin_digits, process_page
from ocr.engine.bidi import insert_at, logical_order
from ocr.engine.numbers import persian_page, settle_eastern
from retrieval import querying
from retrieval.collections import create_collection
from retrieval.ingest import ingest_pages
from retrieval.text import terms
from tests.ocr import docgen, pdfgen, scangen

IBAN = "SA03 8000 0000 6080 1016 7519"


@dataclass
class W:
    text: str
    bbox: tuple[int, int, int, int]


def _line(*texts: str) -> list[W]:
    """Words laid out left to right, as printed."""
    return [W(t, (100 * i, 0, 100 * i + 80, 30)) for i, t in enumerate(texts)]


def _order(words: list[W], rtl: bool) -> str:
    return " ".join(w.text for w in logical_order(list(reversed(words)), rtl))


def test_a_latin_run_with_its_numbers_reads_left_to_right_inside_an_arabic_line():
    # On paper (left to right): "لدى SA03 8000 0000 6080 1016 7519 الحساب إلى"
    printed = _line("لدى", *IBAN.split(), "الحساب", "إلى")
    assert _order(printed, rtl=True) == f"إلى الحساب {IBAN} لدى"
    printed = _line("الصادر", "Circular", "No.", "47", "التعميم")
    assert _order(printed, rtl=True) == "التعميم Circular No. 47 الصادر"


def test_numbers_among_arabic_words_keep_the_right_to_left_order():
    printed = _line("يوما", "١٥", "خلال", "٢٠٢٥/٠٣/١٢", "بتاريخ")
    assert _order(printed, rtl=True) == "بتاريخ ٢٠٢٥/٠٣/١٢ خلال ١٥ يوما"


def test_an_arabic_run_inside_an_english_line_reads_right_to_left():
    # Tesseract returned this English line of an Arabic page right to left.
    printed = _line("Our", "office", "in", "الرياض", "opens", "at", "10:00")
    assert _order(printed, rtl=False) == "Our office in الرياض opens at 10:00"
    printed = _line("Form", "طلب", "نموذج", "Date", "12/03/2025")
    assert _order(printed, rtl=False) == "Form نموذج طلب Date 12/03/2025"
    printed = _line("Invoice", "٤٧١١", "فاتورة", "is", "attached")
    assert _order(printed, rtl=False) == "Invoice فاتورة ٤٧١١ is attached"


def test_a_found_word_goes_where_its_box_is():
    words = _line("Invoice", "4711", "dated", "2025")
    insert_at(words, W("12/03", (250, 0, 290, 30)), rtl=False)
    assert [w.text for w in words] == ["Invoice", "4711", "dated", "12/03", "2025"]
    arabic = list(reversed(_line("يوما", "خلال", "بتاريخ")))
    insert_at(arabic, W("١٥", (90, 0, 95, 30)), rtl=True)
    assert [w.text for w in arabic] == ["بتاريخ", "خلال", "١٥", "يوما"]


def test_a_page_uses_one_eastern_digit_system():
    assert persian_page(["۱۴۰۳/۰۶/۱۵", "۲۳"]) is True
    assert persian_page(["٤٧/٢٠٢٥", "٢٣"]) is False
    assert settle_eastern("١٢٣۴", persian=True) == "۱۲۳۴"
    assert settle_eastern("١٢٣۴", persian=False) == "١٢٣٤"


def test_latin_digits_converts_every_system_and_the_arabic_separators():
    assert latin_digits("المبلغ ١٬٢٥٠٫٧٥ ﷼ و۱۴۰۳/۰۶/۱۵ و١٥٪") == (
        "المبلغ 1,250.75 ﷼ و1403/06/15 و15%"
    )


# --------------------------------------------------------------------- rendered pages

PAGES = {
    "invoice_arabic_digits": lambda r: docgen.invoice(r, "arabic", "naskh"),
    "invoice_western_digits": lambda r: docgen.invoice(r, "western", "amiri", size_pt=11),
    "circular": lambda r: docgen.circular(r, "arabic", "naskh", size_pt=11),
    "persian_form": docgen.persian_form,
    "mixed": docgen.mixed_page,
}


@cache
def _read(browser, name: str, scanned: bool = False):
    image, truth = docgen.render(browser, PAGES[name](random.Random(f"test:{name}")))
    if scanned:
        image = scangen.speckle(image, seed=5)
    return truth, process_page(pdfgen.image_pdf(image), 0, use_text_layer=False)


def _found(truth: str, text: str) -> float:
    """Share of the truth's numbers found whole in ``text``."""
    expected, found = docgen.numbers(truth), set(docgen.numbers(text))
    return sum(n in found for n in expected) / len(expected)


def test_an_arabic_page_with_english_names_and_latin_numbers(browser):
    """The layout work had made such lines worse: numbers inside right-to-left lines, an
    English line of an Arabic page read right to left."""
    truth, result = _read(browser, "mixed")
    assert _found(truth, result.text) == 1.0, result.text
    assert cer(truth, result.text) <= 0.03, result.text
    english = next(line for line in truth.splitlines() if line.startswith("Our office"))
    assert english in result.text


def test_an_iban_in_an_arabic_line_keeps_its_groups_in_order(browser):
    _, result = _read(browser, "invoice_arabic_digits")
    assert IBAN in result.text, result.text


def test_arabic_indic_numbers_of_an_invoice_are_read(browser):
    # Plain Tesseract and the engine before the digit model: 0.07-0.14 of them.
    truth, result = _read(browser, "invoice_arabic_digits")
    assert _found(truth, result.text) >= 0.35, result.text


def test_a_circulars_dates_and_latin_reference(browser):
    truth, result = _read(browser, "circular")
    english = truth.split("Circular No. ")[1].split()[0]
    assert f"No. {english}" in result.text, result.text
    assert _found(truth, result.text) >= 0.5, result.text  # plain Tesseract: 0.06


def test_amounts_in_right_to_left_total_lines(browser):
    truth, result = _read(browser, "invoice_western_digits")
    totals = [line.split(": ")[1].split()[0] for line in truth.splitlines()[-4:-1]]
    assert all(amount in result.text for amount in totals), result.text
    assert _found(truth, result.text) >= 0.8, result.text


def test_a_persian_form_comes_out_in_persian_digits(browser):
    """The digit model reads ٥ and ۵ alike; a page that does not read as Arabic and shows
    Persian ۴ ۵ ۶ gets Persian code points, never a mix."""
    truth, result = _read(browser, "persian_form")
    assert not any("\u0660" <= ch <= "\u0669" for ch in result.text), result.text
    assert _found(truth, result.text) >= 0.4, result.text  # plain Tesseract: 0.00


def test_a_number_read_in_arabic_indic_digits_is_found_by_its_latin_digits(browser):
    truth, result = _read(browser, "circular")
    phone = truth.split("الاتصال على الرقم ")[1].split()[0]  # Arabic-Indic
    assert phone in result.text, result.text
    assert terms(f"call {latin_digits(phone)}")[-1] in terms(result.text)


@pytest.mark.django_db(transaction=True)
def test_invoice_4711_finds_the_ocr_text_of_an_invoice_printed_in_arabic_indic_digits(alice):
    """Retrieval folds both digit systems: the OCR text keeps the printed ٤٧١١ and an
    English query with Western digits finds it, ahead of another page."""
    pages = []
    for lines in (["فاتورة رقم ٤٧١١ بمبلغ ٣٥٠٫٧٥ ريال", pdfgen.ARABIC_TEXT], [pdfgen.ARABIC_TEXT]):
        image = pdfgen.text_image(lines, dpi=300)
        pages.append(process_page(pdfgen.image_pdf(image), 0, use_text_layer=False).text)
    assert "٤٧١١" in pages[0] and "4711" not in pages[0], pages[0]
    collection = create_collection(alice, "invoices")
    ingest_pages(alice, collection.collection_id, "Invoices", "inv.json", pages)
    answer = querying.query(alice, collection.collection_id, "invoice 4711")
    assert answer["context"][0]["page_start"] == 1, answer
    assert "٤٧١١" in answer["context"][0]["snippet"]
