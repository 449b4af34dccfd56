"""The engine on realistic scans: reading order, clean-up, word data, language choice.

Pages come from :mod:`tests.ocr.scangen` (seeded), the same generator as
``bench/ocr_quality_bench.py``; the bounds here are looser than the bench's figures so
that a Tesseract update does not make them flaky.
"""

from __future__ import annotations

import json
import random
from functools import cache

import cv2
import numpy as np
import pytest

from ocr.engine import PageResult, cer, preprocess, process_page, tesseract
from ocr.engine.metrics import normalize_for_cer
from tests.ocr import pdfgen, scangen


@cache
def two_columns(arabic: bool) -> tuple[str, PageResult]:
    image, truth = scangen.columns_page(random.Random(11), arabic=arabic)
    return truth, process_page(pdfgen.image_pdf(image), 0)


@cache
def arabic_table() -> tuple[str, PageResult]:
    image, truth = scangen.table_page(random.Random(12), arabic=True)
    return truth, process_page(pdfgen.image_pdf(image), 0)


def _flow(arabic: bool, seed: int) -> tuple[object, str]:
    return scangen.flow_page(scangen.paragraphs(random.Random(seed), arabic, 3, 4))


def _position(text: str, fragment: str) -> int:
    position = normalize_for_cer(text).find(normalize_for_cer(fragment))
    assert position >= 0, f"{fragment!r} not read"
    return position


@pytest.mark.parametrize("arabic", [False, True], ids=["english", "arabic"])
def test_two_columns_are_read_one_after_the_other_in_the_script_direction(arabic) -> None:
    truth, page = two_columns(arabic)
    assert cer(truth, page.text) <= 0.03, page.text
    # The header comes first and the page number last, not inside a column.
    header = "التقرير السنوي للمجلس البلدي" if arabic else "Annual Report of the City Council"
    assert page.text.startswith(header)
    assert page.text.endswith("\n\n3")


def test_an_english_page_reads_its_left_column_first() -> None:
    _, page = two_columns(False)
    texts = scangen.paragraphs(random.Random(11), False, 6, 2)  # as columns_page draws them
    left, right = texts[0][:30], texts[3][:30]
    assert _position(page.text, left) < _position(page.text, right)


def test_an_arabic_page_reads_its_right_column_first() -> None:
    _, page = two_columns(True)
    texts = scangen.paragraphs(random.Random(11), True, 6, 2)
    right, left = texts[0][:25], texts[3][:25]
    assert _position(page.text, right) < _position(page.text, left)


def test_a_noisy_arabic_scan_is_cleaned_before_reading() -> None:
    image, truth = _flow(True, 21)
    page = process_page(pdfgen.image_pdf(scangen.speckle(image, seed=21)), 0)
    assert page.preprocessing == ["specks", "denoise"]
    assert cer(truth, page.text) <= 0.06, page.text


def test_dust_next_to_letters_is_erased_and_the_letters_dots_stay() -> None:
    image, _ = _flow(True, 24)
    clean_ink = np.asarray(image) < 128
    noisy = np.asarray(scangen.speckle(image, seed=24))
    cleaned, stats, steps = preprocess.clean(noisy)
    assert steps == ["specks", "denoise"] and stats.noise > preprocess.NOISE_SIGMA

    # Small marks within a line height of a letter: the letters' own dots (they overlap
    # the clean render's ink) and dust (they do not).
    labels, cc, char_height = preprocess._components(noisy)
    side = np.maximum(cc[:, cv2.CC_STAT_WIDTH], cc[:, cv2.CC_STAT_HEIGHT])
    small = side < preprocess.SPECK_SIDE * char_height
    small[0] = False
    letters = (~small)[labels] & (labels > 0)
    reach = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (33, 33))
    near = cv2.dilate(letters.astype(np.uint8), reach) > 0
    near_marks = np.bincount(labels[near], minlength=len(cc)) > 0
    on_ink = np.bincount(labels[clean_ink], minlength=len(cc)) > 0
    kept = np.bincount(labels[cleaned < 128], minlength=len(cc)) > 0
    dots = small & near_marks & on_ink
    dust = small & near_marks & ~on_ink
    assert dots.sum() > 300 and dust.sum() > 100
    assert kept[dots].mean() >= 0.99
    assert kept[dust].mean() <= 0.5


def test_a_speck_read_as_a_word_does_not_make_the_next_line_a_phantom() -> None:
    def line(top: int, bottom: int, texts: list[str], conf: float) -> tesseract.Line:
        words = [
            tesseract.Word(t, conf, (100 + 120 * i, top, 200 + 120 * i, bottom))
            for i, t in enumerate(texts)
        ]
        return tesseract.Line(1, (100, top, 100 + 120 * len(texts), bottom), words)

    first = line(270, 340, ["من", "المتوقع", "أن", "تهطل"], 85)
    speck = tesseract.Word("0", 20, (600, 280, 620, 392))  # dust under the line, read as 0
    first.words.append(speck)
    first.bbox = (100, 270, 620, 392)
    second = line(346, 432, ["العام", "أضاف", "المستشفى", "عشرين"], 66)
    assert tesseract.drop_overlapping_lines([first, second]) == [first, second]
    # A real phantom (the marks of the same row read again) still goes.
    phantom = line(280, 335, ["ن", "ت"], 30)
    assert tesseract.drop_overlapping_lines([first, phantom, second]) == [first, second]


def test_a_phone_photo_with_a_shadowed_edge_is_relit() -> None:
    image, truth = _flow(True, 22)
    page = process_page(pdfgen.image_pdf(scangen.phone_photo(image, seed=22)), 0)
    assert page.preprocessing[:2] == ["illumination", "contrast"]
    assert cer(truth, page.text) <= 0.03, page.text


def test_a_clean_page_is_not_preprocessed() -> None:
    image, _ = _flow(False, 23)
    assert process_page(pdfgen.image_pdf(image), 0).preprocessing == []


def test_a_ruled_arabic_table_is_read_row_by_row_right_to_left() -> None:
    truth, page = arabic_table()
    assert cer(truth, page.text) <= 0.10, page.text
    header = " ".join(scangen.ARABIC_TABLE["header"])
    assert header in page.text.replace("\n", " ")


def test_words_and_lines_carry_boxes_confidence_and_direction() -> None:
    _, page = two_columns(True)
    assert page.words and page.lines
    for word in page.words:
        x0, y0, x1, y1 = word["bbox"]
        assert 0 <= x0 < x1 <= page.width and 0 <= y0 < y1 <= page.height
        assert 0 <= word["confidence"] <= 100
        line = page.lines[word["line"]]
        x0l, y0l, x1l, y1l = line["bbox"]
        assert x0l <= x0 and x1 <= x1l and y0l <= y0 and y1 <= y1l
        assert word["block"] == line["block"]
    arabic = [w for w in page.words if w["script"] == "arabic"]
    assert len(arabic) > 0.8 * len(page.words)
    assert {w["direction"] for w in arabic} == {"rtl"}
    assert {ln["direction"] for ln in page.lines if "ال" in ln["text"]} == {"rtl"}
    # words, joined line by line, are the page text
    by_line: dict[int, list[str]] = {}
    for word in page.words:
        by_line.setdefault(word["line"], []).append(word["text"])
    joined = " ".join(" ".join(ws) for ws in by_line.values())
    assert cer(page.text, joined) <= 0.01
    assert json.loads(json.dumps(page.to_dict()))["words"][0]["text"] == page.words[0]["text"]


def test_english_words_are_latin_and_left_to_right() -> None:
    _, page = two_columns(False)
    latin = [w for w in page.words if w["script"] == "latin"]
    assert len(latin) > 0.9 * len(page.words)
    assert {w["direction"] for w in latin} == {"ltr"}


@pytest.mark.parametrize(("language", "arabic"), [("eng", False), ("ara", True)])
def test_a_language_can_be_chosen(language: str, arabic: bool) -> None:
    image, truth = _flow(arabic, 24)
    page = process_page(pdfgen.image_pdf(image), 0, language=language)
    assert cer(truth, page.text) <= 0.01, page.text
    assert page.language == language


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError):
        process_page(pdfgen.image_pdf(_flow(False, 25)[0]), 0, language="fra")


@pytest.mark.parametrize(("arabic", "angle"), [(True, 10.0), (False, -10.0), (True, -7.5)])
def test_skew_up_to_ten_degrees_is_corrected_exactly(arabic: bool, angle: float) -> None:
    image, truth = _flow(arabic, 41)
    page = process_page(pdfgen.image_pdf(pdfgen.skew(image, angle)), 0)
    assert abs(page.skew_angle - angle) <= 0.1, page.skew_angle
    assert cer(truth, page.text) <= 0.02, page.text


def test_small_print_scanned_at_low_resolution_is_read_enlarged() -> None:
    image, truth = scangen.flow_page(
        scangen.paragraphs(random.Random(41), True, 2, 3), font_pt=7
    )  # Tesseract breaks these 19 px lines into fragments when read as they are
    small = image.resize((image.width // 2, image.height // 2))
    page = process_page(pdfgen.image_pdf(small, dpi=150), 0)
    assert "upscale" in page.preprocessing
    assert cer(truth, page.text) <= 0.02, page.text
    for word in page.words:  # boxes are in the page image's pixels, not the enlarged copy's
        assert 0 <= word["bbox"][0] < word["bbox"][2] <= page.width
        assert 0 <= word["bbox"][1] < word["bbox"][3] <= page.height


def test_only_an_arabic_page_read_unsurely_is_read_again_with_the_arabic_model() -> None:
    image, _ = _flow(True, 23)
    clean = process_page(pdfgen.image_pdf(image), 0)
    assert "arabic_reread" not in clean.timings
    amiri, truth = scangen.flow_page(
        scangen.paragraphs(random.Random(2), True, 3, 4),
        arabic_font="Amiri-Regular.ttf",
        font_pt=14,
    )
    page = process_page(pdfgen.image_pdf(amiri), 0)
    assert "arabic_reread" in page.timings
    assert cer(truth, page.text) <= 0.06, page.text
