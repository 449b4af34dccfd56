"""Tests for the pure OCR engine (ocr.engine) on PDFs generated at test time.

Run: ``.venv/bin/python -m pytest tests/ocr -q`` (with the project conftest), or
Django-free: ``.venv/bin/python -m pytest tests/ocr -p no:django --noconftest -q``.
"""

from __future__ import annotations

import io
import json
import random
import time
from collections.abc import Callable
from functools import cache

import pypdfium2 as pdfium
import pytest
from PIL import Image

from ocr.engine import PageResult, PdfError, cer, inspect_pdf, process_page, tesseract
from ocr.engine.metrics import levenshtein
from ocr.engine.text import detect_language, fix_arabic_punctuation
from ocr.engine.textlayer import text_layer_is_good
from tests.ocr import pdfgen

E, A = pdfgen.ENGLISH_TEXT, pdfgen.ARABIC_TEXT
MIXED = f"{pdfgen.MIXED_ENGLISH} {pdfgen.MIXED_ARABIC}"
LIMITS = {"max_pages": 500, "max_page_pixels": 100_000_000}


def _clean(text: str) -> bytes:
    return pdfgen.image_pdf(pdfgen.text_image(text))


def _degraded(text: str) -> bytes:
    return pdfgen.image_pdf(pdfgen.degrade(pdfgen.text_image(text, dpi=200)), dpi=200)


def _skewed(text: str, angle: float) -> bytes:
    return pdfgen.image_pdf(pdfgen.skew(pdfgen.text_image(text), angle))


def _turned(text: str, degrees: int) -> bytes:
    return pdfgen.image_pdf(pdfgen.rotate_quarter(pdfgen.text_image(text), degrees))


CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "eng_clean": (lambda: _clean(E), E),
    "ara_clean": (lambda: _clean(A), A),
    "eng_degraded": (lambda: _degraded(E), E),
    "ara_degraded": (lambda: _degraded(A), A),
    "eng_skew_+5": (lambda: _skewed(E, 5.0), E),
    "eng_skew_-5": (lambda: _skewed(E, -5.0), E),
    "ara_skew_+5": (lambda: _skewed(A, 5.0), A),
    "ara_skew_-5": (lambda: _skewed(A, -5.0), A),
    "eng_turned_90": (lambda: _turned(E, 90), E),
    "ara_turned_180": (lambda: _turned(A, 180), A),
    "mixed": (lambda: _clean([pdfgen.MIXED_ENGLISH, pdfgen.MIXED_ARABIC]), MIXED),
    "text_layer": (lambda: pdfgen.text_layer_pdf(), E),
}
OCR_CASES = [name for name in CASES if name != "text_layer"]


@cache
def result(name: str) -> PageResult:
    """Process each generated page once per test session."""
    make, _ = CASES[name]
    return process_page(make(), 0)


def measured_cer(name: str) -> float:
    return cer(CASES[name][1], result(name).text)


# --------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize("name", ["eng_clean", "ara_clean"])
def test_clean_page_is_read_with_at_most_one_percent_cer(name: str) -> None:
    assert measured_cer(name) <= 0.01, result(name).text


@pytest.mark.parametrize("name", ["eng_degraded", "ara_degraded"])
def test_degraded_page_is_read_with_at_most_two_percent_cer(name: str) -> None:
    assert measured_cer(name) <= 0.02, result(name).text


@pytest.mark.parametrize("name", ["eng_skew_+5", "eng_skew_-5", "ara_skew_+5", "ara_skew_-5"])
def test_skew_is_detected_within_a_quarter_degree_and_text_stays_clean(name: str) -> None:
    truth = float(name.rsplit("_", 1)[1])
    page = result(name)
    assert abs(page.skew_angle - truth) <= 0.25, page.skew_angle
    assert measured_cer(name) <= 0.01, page.text


def test_upright_page_reports_no_skew_and_no_rotation() -> None:
    page = result("eng_clean")
    assert page.skew_angle == 0.0
    assert page.rotation == 0


@pytest.mark.parametrize(("name", "fix"), [("eng_turned_90", 270), ("ara_turned_180", 180)])
def test_turned_page_is_put_upright_and_read(name: str, fix: int) -> None:
    page = result(name)
    assert page.rotation == fix
    assert page.height > page.width  # back to portrait
    assert measured_cer(name) <= 0.01, page.text


def test_mixed_page_gets_both_scripts() -> None:
    page = result("mixed")
    assert page.language == "ara+eng"
    assert "international book fair" in page.text
    assert "المعرض الدولي للكتاب" in page.text
    assert measured_cer("mixed") <= 0.01, page.text


@pytest.mark.parametrize(("name", "language"), [("eng_clean", "eng"), ("ara_clean", "ara")])
def test_single_language_page_reports_its_language(name: str, language: str) -> None:
    assert result(name).language == language


def test_orientation_falls_back_to_confidence_when_osd_is_unavailable(monkeypatch) -> None:
    monkeypatch.setattr(tesseract, "has_osd", lambda: False)
    page = process_page(_turned(A, 180), 0)
    assert page.rotation == 180
    assert cer(A, page.text) <= 0.01


# --------------------------------------------------------------------------- paths


def test_page_with_a_text_layer_uses_it() -> None:
    page = result("text_layer")
    assert page.path == "text_layer"
    assert page.rotation == 0 and page.skew_angle == 0.0
    assert measured_cer("text_layer") <= 0.01
    assert all(s.confidence == 100.0 for s in page.segments)


def test_image_only_page_is_ocred() -> None:
    assert result("eng_clean").path == "ocr"


def test_text_layer_can_be_ignored() -> None:
    page = process_page(pdfgen.text_layer_pdf(), 0, use_text_layer=False)
    assert page.path == "ocr"
    assert cer(E, page.text) <= 0.01


def test_arabic_text_layer_in_logical_order_is_used() -> None:
    page = process_page(pdfgen.arabic_text_layer_pdf(logical=True), 0)
    assert page.path == "text_layer"
    assert page.language == "ara"
    assert cer(A, page.text) <= 0.01


def test_arabic_text_layer_in_visual_order_falls_back_to_ocr() -> None:
    page = process_page(pdfgen.arabic_text_layer_pdf(logical=False), 0)
    assert page.path == "ocr"


def test_a_filesystem_path_is_accepted(tmp_path) -> None:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdfgen.text_layer_pdf())
    assert process_page(str(path), 0).path == "text_layer"


def test_asking_for_a_missing_page_is_a_pdf_error() -> None:
    with pytest.raises(PdfError) as err:
        process_page(pdfgen.text_layer_pdf(), 3)
    assert err.value.code == "page_out_of_range"


# --------------------------------------------------------------------------- result shape


@pytest.mark.parametrize("name", [*OCR_CASES, "text_layer"])
def test_segments_have_sane_boxes_and_confidences(name: str) -> None:
    page = result(name)
    blocks = {s.block: s for s in page.segments if s.kind == "block"}
    lines = [s for s in page.segments if s.kind == "line"]
    assert page.num_segments == len(lines) > 0
    assert blocks
    for seg in page.segments:
        x0, y0, x1, y1 = seg.bbox
        assert 0 <= x0 < x1 <= page.width and 0 <= y0 < y1 <= page.height, seg
        assert 0.0 <= seg.confidence <= 100.0
        assert seg.text.strip()
    for line in lines:
        bx0, by0, bx1, by1 = blocks[line.block].bbox
        x0, y0, x1, y1 = line.bbox
        assert bx0 - 2 <= x0 and y0 >= by0 - 2 and x1 <= bx1 + 2 and y1 <= by1 + 2
    # the page text is exactly the blocks' text, separated by blank lines
    assert page.text == "\n\n".join(b.text for b in blocks.values())


def test_images_are_pngs_of_the_final_page_and_a_200px_thumbnail() -> None:
    page = result("eng_skew_+5")
    full = Image.open(io.BytesIO(page.image_png))
    thumb = Image.open(io.BytesIO(page.thumbnail_png))
    assert full.format == "PNG" and full.size == (page.width, page.height)
    assert full.mode == "L"
    assert thumb.format == "PNG" and abs(thumb.width - 200) <= 1
    assert abs(thumb.height / thumb.width - page.height / page.width) < 0.02


def test_result_is_json_serialisable_without_images() -> None:
    page = result("mixed")
    data = json.loads(json.dumps(page.to_dict()))
    assert data["page_num"] == 1
    assert data["num_segments"] == page.num_segments
    assert "image_png" not in data
    assert page.elapsed > 0 and set(page.timings) >= {"render", "ocr", "encode"}


def test_one_tesseract_instance_is_reused_across_pages() -> None:
    result("eng_clean")
    api = tesseract.get_api()
    created = tesseract.instances_created()
    process_page(_clean("A short page that is read twice by the same engine."), 0)
    process_page(_clean("A second short page for the same Tesseract instance."), 0)
    assert tesseract.get_api() is api
    assert tesseract.instances_created() == created


# --------------------------------------------------------------------------- validation

BAD_INPUTS = [
    (pdfgen.not_a_pdf, "not_pdf"),
    (pdfgen.truncated_pdf, "corrupt"),
    (pdfgen.encrypted_pdf, "encrypted"),
    (pdfgen.zero_page_pdf, "no_pages"),
    (pdfgen.many_pages_pdf, "too_many_pages"),
    (pdfgen.tiny_page_pdf, "page_too_small"),
    (pdfgen.huge_mediabox_pdf, "page_too_large"),
    (pdfgen.flate_bomb_pdf, "page_too_large"),
]


@pytest.fixture
def no_rendering(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("rendering must not be attempted")

    monkeypatch.setattr(pdfium.PdfPage, "render", refuse)


@pytest.mark.parametrize(("make", "code"), BAD_INPUTS, ids=[c for _, c in BAD_INPUTS])
def test_bad_input_is_rejected_before_rendering_with_the_right_code(
    make, code, no_rendering
) -> None:
    # How fast is a benchmark's question (bench/ocr_bomb_bench.py); here: never rendered.
    data = make()
    with pytest.raises(PdfError) as err:
        inspect_pdf(data, **LIMITS)
    assert err.value.code == code
    assert err.value.message and err.value.message[-1] == "."


@pytest.mark.parametrize(
    "make", [pdfgen.huge_mediabox_pdf, pdfgen.flate_bomb_pdf], ids=["mediabox", "flate"]
)
def test_process_page_refuses_a_bomb_before_rendering(make, no_rendering) -> None:
    with pytest.raises(PdfError) as err:
        process_page(make(), 0)
    assert err.value.code == "page_too_large"


def test_too_many_pages_message_states_the_cap() -> None:
    with pytest.raises(PdfError) as err:
        inspect_pdf(pdfgen.many_pages_pdf(2000), max_pages=300, max_page_pixels=10**8)
    assert "300" in err.value.message and "2000" in err.value.message


def test_large_page_count_under_the_cap_is_inspected_fast(no_rendering) -> None:
    data = pdfgen.many_pages_pdf(2000)
    started = time.perf_counter()
    info = inspect_pdf(data, max_pages=2000, max_page_pixels=10**8)
    assert time.perf_counter() - started < 2.0
    assert info.page_count == 2000 and not any(info.has_text_layer)


def test_valid_pdf_is_described(no_rendering) -> None:
    data = pdfgen.image_pdf([pdfgen.text_image(E), pdfgen.text_image(A)])
    info = inspect_pdf(data, **LIMITS)
    assert info.page_count == 2
    assert info.encrypted is False
    assert info.has_text_layer == [False, False]
    for width, height in info.page_sizes_pt:
        assert width == pytest.approx(595, abs=2) and height == pytest.approx(842, abs=2)


def test_text_layer_is_reported_by_inspection() -> None:
    assert inspect_pdf(pdfgen.text_layer_pdf(), **LIMITS).has_text_layer == [True]


def test_owner_password_only_pdf_opens_and_is_flagged_encrypted() -> None:
    info = inspect_pdf(pdfgen.owner_password_pdf(), **LIMITS)
    assert info.encrypted is True and info.page_count == 1


def test_pixel_cap_applies_at_the_render_dpi() -> None:
    data = pdfgen.image_pdf(pdfgen.text_image("Letter", dpi=150), dpi=150)  # 2.2 MP image
    with pytest.raises(PdfError) as err:
        inspect_pdf(data, max_pages=5, max_page_pixels=5_000_000)  # A4 @300 dpi ~ 8.7 MP
    assert err.value.code == "page_too_large"
    assert inspect_pdf(data, max_pages=5, max_page_pixels=5_000_000, dpi=200).page_count == 1


def test_mutated_pdfs_only_ever_raise_pdf_error() -> None:
    rng = random.Random(1234)
    seeds = [pdfgen.text_layer_pdf(), pdfgen.many_pages_pdf(3), pdfgen.owner_password_pdf()]
    outcomes: set[str] = set()
    for _ in range(300):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 12)):
            pos = rng.randrange(len(data))
            if rng.random() < 0.7:
                data[pos] = rng.randrange(256)
            else:
                del data[pos : pos + rng.randint(1, 40)]
        try:
            inspect_pdf(bytes(data), **LIMITS)
            outcomes.add("ok")
        except PdfError as err:
            outcomes.add(err.code)
    assert {"ok", "corrupt"} <= outcomes


def test_pdf_error_rejects_unknown_codes() -> None:
    with pytest.raises(ValueError):
        PdfError("nope", "unknown")


# --------------------------------------------------------------------------- helpers


def test_cer_is_zero_for_identical_text_up_to_whitespace() -> None:
    assert cer("one two\nthree", "  one   two three ") == 0.0


def test_cer_counts_edits_per_reference_character() -> None:
    assert cer("abcd", "abxd") == pytest.approx(0.25)
    assert cer("abcd", "") == 1.0
    assert cer("", "") == 0.0 and cer("", "x") == 1.0


def test_cer_folds_arabic_presentation_forms_and_tatweel() -> None:
    assert cer("سلام", "\ufeb3\ufefc\ufee1") == 0.0  # presentation forms of the same word
    assert cer("كتاب", "كتـــاب") == 0.0


def test_levenshtein_handles_long_strings_fast() -> None:
    a = "the quick brown fox jumps over the lazy dog " * 110
    b = a.replace("quick", "quack").replace("lazy", "crazy")
    started = time.perf_counter()
    assert levenshtein(a, b) == 110 * 3
    assert time.perf_counter() - started < 2.0


def test_language_is_detected_from_script() -> None:
    assert detect_language("Hello world, this is English.") == "eng"
    assert detect_language("هذا نص عربي قصير للتجربة") == "ara"
    assert detect_language("Hello world again " + "هذا نص عربي قصير للتجربة") == "ara+eng"
    assert detect_language("12345") == "ara+eng"


def test_arabic_commas_are_restored_but_numbers_are_left_alone() -> None:
    assert fix_arabic_punctuation("المعرفة, فهي") == "المعرفة، فهي"
    assert fix_arabic_punctuation("هل هذا? نعم") == "هل هذا؟ نعم"
    assert fix_arabic_punctuation("1,000 items, ok") == "1,000 items, ok"


def test_text_layer_quality_check_rejects_garbage() -> None:
    assert text_layer_is_good(E)
    assert not text_layer_is_good("Page 1")
    assert not text_layer_is_good("\ufffd" * 40 + E[:40])
    assert not text_layer_is_good("\ue000\ue001\ue002 " * 30)
    assert not text_layer_is_good(A[::-1])  # Arabic in visual (reversed) order


def test_blank_page_gives_empty_text_without_error() -> None:
    page = process_page(pdfgen.image_pdf(Image.new("L", (2480, 3508), 255)), 0)
    assert page.path == "ocr"
    assert page.text == "" and page.segments == [] and page.num_segments == 0
    assert page.rotation == 0 and page.skew_angle == 0.0
    assert page.thumbnail_png and page.image_png


def test_unreasonable_dpi_is_refused() -> None:
    with pytest.raises(ValueError):
        process_page(pdfgen.text_layer_pdf(), 0, dpi=5000)
