"""Searchable PDFs: the original pages with an invisible text layer that extracts back."""

from __future__ import annotations

import random
from functools import cache

import numpy as np
import pypdfium2 as pdfium
import pytest

from ocr.engine import PageResult, cer, process_page
from ocr.engine.searchable import TextLayerPage, build_searchable_pdf, text_layer_page
from tests.ocr import pdfgen, scangen


def _extract(pdf: bytes) -> list[str]:
    doc = pdfium.PdfDocument(pdf)
    try:
        texts = []
        for page in doc:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return texts
    finally:
        doc.close()


def _render(pdf: bytes, index: int = 0) -> np.ndarray:
    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[index].render(scale=1.0, grayscale=True).to_numpy().copy()
    finally:
        doc.close()


@cache
def _page(arabic: bool, skew: float = 0.0) -> tuple[bytes, str, PageResult]:
    image, truth = scangen.flow_page(scangen.paragraphs(random.Random(31), arabic, 2, 3))
    if skew:
        image = pdfgen.skew(image, skew)
    original = pdfgen.image_pdf(image)
    return original, truth, process_page(original, 0)


@pytest.mark.parametrize(
    ("arabic", "skew"), [(True, 0.0), (False, 0.0), (False, 4.0)], ids=["ara", "eng", "skewed"]
)
def test_the_text_layer_extracts_back_as_the_recognised_text(arabic, skew) -> None:
    original, truth, result = _page(arabic, skew)
    searchable = build_searchable_pdf(original, [text_layer_page(result)])
    assert _extract(original) == [""]
    (text,) = _extract(searchable)
    assert cer(truth, text) <= 0.02, text
    assert cer(result.text, text) <= 0.01, text


def test_the_page_looks_exactly_as_before() -> None:
    original, _, result = _page(True)
    searchable = build_searchable_pdf(original, [text_layer_page(result)])
    assert np.array_equal(_render(original), _render(searchable))


def test_words_sit_where_they_were_read() -> None:
    original, _, result = _page(False, 4.0)
    searchable = build_searchable_pdf(original, [text_layer_page(result)])
    doc = pdfium.PdfDocument(searchable)
    page = doc[0]
    width, height = page.get_size()
    textpage = page.get_textpage()
    found = textpage.search(result.words[0]["text"]).get_next()
    assert found is not None
    left, bottom, _, top = textpage.get_charbox(found[0])
    # The engine deskewed the 300 dpi render about its centre: turn the word's box back.
    x0, y0, _, y1 = result.words[0]["bbox"]
    theta = np.radians(result.skew_angle)
    dx, dy = x0 - result.width / 2, (y0 + y1) / 2 - result.height / 2
    x = dx * np.cos(theta) + dy * np.sin(theta)
    y = -dx * np.sin(theta) + dy * np.cos(theta)
    scale = 72 / 300  # render pixels -> points
    assert abs(left - (width / 2 + x * scale)) < 5
    assert abs((bottom + top) / 2 - (height / 2 - y * scale)) < 5
    textpage.close()
    page.close()
    doc.close()


def test_pages_without_an_entry_are_left_alone() -> None:
    image, _ = scangen.flow_page(["A short second page."])
    first, _, result = _page(False)
    two_pages = pdfgen.image_pdf(
        [pdfium.PdfDocument(first)[0].render(scale=300 / 72).to_pil().convert("L"), image]
    )
    searchable = build_searchable_pdf(two_pages, [text_layer_page(result), None])
    texts = _extract(searchable)
    assert cer(result.text, texts[0]) <= 0.01
    assert texts[1] == ""


def test_a_text_layer_page_gets_no_second_layer() -> None:
    result = process_page(pdfgen.text_layer_pdf(), 0)
    assert text_layer_page(result) is None


def test_an_empty_layer_leaves_the_document_unchanged_in_content() -> None:
    original, _, _ = _page(False)
    searchable = build_searchable_pdf(original, [TextLayerPage(2480, 3508, [])])
    assert _extract(searchable) == [""]


@pytest.mark.parametrize(("arabic", "degrees"), [(True, 90), (False, 270)], ids=["ara", "eng"])
def test_a_page_scanned_sideways_extracts_in_reading_order(arabic: bool, degrees: int) -> None:
    image, truth = scangen.flow_page(scangen.paragraphs(random.Random(32), arabic, 1, 3))
    original = pdfgen.image_pdf(pdfgen.rotate_quarter(image, degrees))
    result = process_page(original, 0)
    assert result.rotation == 360 - degrees
    (text,) = _extract(build_searchable_pdf(original, [text_layer_page(result)]))
    assert cer(truth, text) <= 0.02, text


def _old_layer_pdf(invisible: bool) -> tuple[bytes, str | None]:
    """A page that already carries a text layer the engine cannot trust: a scan under an
    earlier OCR's invisible junk, or visible Arabic stored in visual order (drawn unshaped,
    so what is printed is itself scrambled: no truth to compare with)."""
    if not invisible:
        return pdfgen.arabic_text_layer_pdf(logical=False), None
    image, truth = scangen.flow_page(scangen.paragraphs(random.Random(33), False, 1, 3))
    scan = pdfgen.image_pdf(image)
    junk = [
        {"text": "~#| %%& ^^*", "bbox": [300, 300 + 80 * i, 2000, 360 + 80 * i], "line": i}
        for i in range(6)
    ]
    return build_searchable_pdf(scan, [TextLayerPage(image.width, image.height, junk)]), truth


@pytest.mark.parametrize("invisible", [True, False], ids=["old_ocr_layer", "visual_order_text"])
def test_a_page_portico_read_keeps_only_portico_text(invisible: bool) -> None:
    original, truth = _old_layer_pdf(invisible)
    assert _extract(original)[0].strip()  # the page has a text layer of its own
    result = process_page(original, 0)
    assert result.path == "ocr"
    (text,) = _extract(build_searchable_pdf(original, [text_layer_page(result)]))
    # Once: the old layer beside Portico's would double the text (CER near 1).
    assert cer(result.text, text) <= 0.02, text
    assert truth is None or cer(truth, text) <= 0.05, text
    assert "~#|" not in text


def test_removing_an_invisible_old_layer_leaves_the_page_looking_the_same() -> None:
    original, _ = _old_layer_pdf(invisible=True)
    result = process_page(original, 0)
    searchable = build_searchable_pdf(original, [text_layer_page(result)])
    assert np.array_equal(_render(original), _render(searchable))


def test_visible_untrusted_text_is_replaced_by_the_page_image() -> None:
    original, _ = _old_layer_pdf(invisible=False)
    result = process_page(original, 0)
    searchable = build_searchable_pdf(original, [text_layer_page(result)])
    before, after = _render(original).astype(int), _render(searchable).astype(int)
    assert before.shape == after.shape
    assert np.abs(before - after).mean() < 3  # the same page, drawn from its render


def test_a_good_text_layer_portico_used_is_kept() -> None:
    original = pdfgen.text_layer_pdf()
    result = process_page(original, 0)
    assert result.path == "text_layer"
    assert _extract(build_searchable_pdf(original, [text_layer_page(result)])) == _extract(original)
