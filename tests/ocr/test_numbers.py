"""Numbers on rendered business pages: Arabic-Indic, Persian and Western digits, separators,
dates and amounts inside right-to-left lines, an IBAN in reading order; and the pieces
behind them (logical order of a line's words, one Eastern digit system per page)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

import pytest

from ocr.engine import cer, latin_digits, process_page
from ocr.engine.bidi import edge_punctuation, insert_at, logical_order
from ocr.engine.numbers import persian_page, settle_eastern
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
    "circular": lambda r: docgen.circular(r, "arabic", "amiri"),
    "persian_form": docgen.persian_form,
    "bilingual_form": docgen.bilingual_form,
}


@cache
def _read(browser, name: str, scanned: bool = False):
    image, truth = docgen.render(browser, PAGES[name](random.Random(f"test:{name}")))
    if scanned:
        image = scangen.speckle(image, seed=5)
    return truth, process_page(pdfgen.image_pdf(image), 0, use_text_layer=False)


def _missed(truth: str, text: str) -> list[str]:
    found = docgen.numbers(text)
    return [n for n in docgen.numbers(truth) if n not in found]


@pytest.mark.parametrize("name", list(PAGES))
def test_every_number_on_a_clean_page_is_read_whole_in_its_digits(browser, name):
    truth, result = _read(browser, name)
    missed = _missed(truth, result.text)
    assert len(missed) <= len(docgen.numbers(truth)) // 25, (missed, result.text)
    assert cer(truth, result.text) <= 0.06, result.text


def test_amounts_keep_their_arabic_separators_and_dates_their_slashes(browser):
    truth, result = _read(browser, "invoice_arabic_digits")
    amounts = [n for n in docgen.numbers(truth) if "٫" in n]
    assert amounts and all(a in result.text for a in amounts), result.text
    dates = [n for n in docgen.numbers(truth) if n.count("/") == 2]
    assert dates and all(d in result.text for d in dates), result.text


def test_an_iban_in_an_arabic_line_keeps_its_groups_in_order(browser):
    _, result = _read(browser, "invoice_arabic_digits")
    assert IBAN in result.text, result.text


def test_a_reference_and_a_latin_number_in_a_circular(browser):
    truth, result = _read(browser, "circular")
    reference = truth.splitlines()[0].split()[-1]  # "٤٧/٢٠٢٥"-like
    assert reference in result.text
    english = next(line for line in truth.splitlines() if "Circular No." in line)
    assert english.split("Circular No. ")[1].split()[0] in result.text


def test_persian_digits_come_out_persian(browser):
    truth, result = _read(browser, "persian_form")
    assert not any("\u0660" <= ch <= "\u0669" for ch in result.text), result.text
    assert _missed(truth, result.text) == []


def test_numbers_on_a_scanned_invoice(browser):
    truth, result = _read(browser, "invoice_arabic_digits", scanned=True)
    missed = _missed(truth, result.text)
    assert len(missed) <= len(docgen.numbers(truth)) // 20, (missed, result.text)


def test_an_arabic_invoice_number_is_found_by_its_latin_digits(browser):
    truth, result = _read(browser, "invoice_arabic_digits")
    number = truth.splitlines()[0].split()[-1]  # the invoice's number, Arabic-Indic
    assert terms(f"invoice {latin_digits(number)}")[-1] in terms(result.text)


def test_punctuation_at_a_word_edge_follows_the_line():
    assert edge_punctuation("%22", rtl=True) == "22%"
    assert edge_punctuation(":٪١٥", rtl=True) == "١٥٪:"
    assert edge_punctuation(".info@example.com", rtl=True) == "info@example.com."
    assert edge_punctuation(".مدارس", rtl=False) == "مدارس."
    assert edge_punctuation("يوما.", rtl=True) == "يوما."
    assert edge_punctuation(".5", rtl=False) == ".5"
