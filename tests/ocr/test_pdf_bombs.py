"""Bounded input for PDFs: decompression bombs are refused before pdfium decodes them.

Every bomb is built here (``tests/ocr/bombgen.py``): ~1 MB (or a few KB) that pdfium
would inflate to 1 GiB. The memory bound is measured in real child processes
(``ru_maxrss``): a bound on memory, not a timing.
"""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
import sys
import zlib
from http import HTTPStatus
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from ocr.engine import PdfError, inspect_pdf, limits, process_page
from ocr.engine.pdf import check_page, open_pdf
from tests.ocr import bombgen, pdfgen

ROOT = Path(__file__).resolve().parents[2]
PIXELS = 150_000_000
UPLOAD = {"max_pages": 500, "max_page_pixels": PIXELS, "check_text_layer": False}
RSS_BOUND_MB = 300

EXPECTED = {
    "content": "decompression_bomb",
    "many_streams": "decompression_bomb",
    "repeated_stream": "decompression_bomb",
    "image_data": "stream_too_large",
    "image_dimensions": "page_too_large",
    "form_xobject": "decompression_bomb",
    "nested_filters": "decompression_bomb",
    "object_stream": "stream_too_large",
    "xref_stream": "stream_too_large",
    "inline_image": "decompression_bomb",
    "font": "stream_too_large",
    "lzw": "decompression_bomb",
    "encrypted": "decompression_bomb",
    "text_operators": "decompression_bomb",
    "repeated_form": "decompression_bomb",
    "decoy_page": "decompression_bomb",
    "many_fonts": "decompression_bomb",
    "disguised_fonts": "stream_too_large",
}
SHAPES = sorted(bombgen.SHAPES)


def test_every_shape_has_an_expected_refusal() -> None:
    assert set(EXPECTED) == set(bombgen.SHAPES)


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    """Each bomb written once to a file (the worker reads originals from a path)."""
    folder = tmp_path_factory.mktemp("bombs")
    paths = {}
    for name, make in bombgen.SHAPES.items():
        paths[name] = folder / f"{name}.pdf"
        paths[name].write_bytes(make())
    return paths


@pytest.fixture
def no_rendering(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("rendering must not be attempted")

    monkeypatch.setattr(pdfium.PdfPage, "render", refuse)


@pytest.fixture
def small_limits():
    """Limits small enough to test their edges with small files."""
    previous = limits.current_limits()
    limits.configure(
        limits.PdfLimits(
            max_stream_bytes=2 * limits.MiB,
            max_page_content_bytes=limits.MiB,
            max_document_bytes=3 * limits.MiB,
            max_page_image_bytes=limits.MiB,
            max_values=50_000,
        )
    )
    yield
    limits.configure(previous)


@pytest.mark.parametrize("shape", SHAPES)
def test_the_upload_check_refuses_each_bomb_naming_the_limit(shape, bombs, no_rendering):
    data = bombs[shape].read_bytes()
    assert len(data) < 1_100_000
    with pytest.raises(PdfError) as err:
        inspect_pdf(data, **UPLOAD)
    assert err.value.code == EXPECTED[shape]
    assert " MB" in err.value.message and err.value.message.endswith(".")


@pytest.mark.parametrize("shape", SHAPES)
def test_the_worker_refuses_each_bomb_before_rendering(shape, bombs, no_rendering):
    with pytest.raises(PdfError) as err:
        process_page(str(bombs[shape]), 0)
    assert err.value.code == EXPECTED[shape]


CHILD = """
import json, resource, sys, time
from ocr.engine import PdfError, inspect_pdf
from ocr.engine.pdf import check_page, open_pdf

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024

base, out = peak(), {}
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    code = None
    try:  # the web process's check, then the worker's, as each would run
        inspect_pdf(data, max_pages=500, max_page_pixels=150_000_000, check_text_layer=False)
    except PdfError as exc:
        code = exc.code
    try:
        doc = open_pdf(path)
        check_page(doc, 0, dpi=300, max_page_pixels=150_000_000, page=doc[0])
    except PdfError as exc:
        code = code or exc.code
    out[path] = {"code": code, "peak_mb": peak() - base}
print(json.dumps(out))
"""


def run_child(paths: list[Path]) -> dict[str, dict]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        # A regression must fail the test, not exhaust a shared machine.
        preexec_fn=lambda: __import__("resource").setrlimit(
            __import__("resource").RLIMIT_AS, (6 << 30, 6 << 30)
        ),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_a_worker_checking_every_bomb_stays_within_300_mb_of_its_baseline(bombs):
    figures = run_child([bombs[shape] for shape in SHAPES])
    for shape in SHAPES:
        seen = figures[str(bombs[shape])]
        assert seen["code"] == EXPECTED[shape], shape
        assert seen["peak_mb"] < RSS_BOUND_MB, (shape, figures)


# --------------------------------------------------------------------------- legit input


@pytest.fixture(scope="module")
def scan_50(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scan") / "scan.pdf"
    path.write_bytes(bombgen.scan_pdf(50, dpi=300))
    return path


def test_a_50_page_300_dpi_scan_is_accepted_and_checked_page_by_page(scan_50, no_rendering):
    data = scan_50.read_bytes()
    info = inspect_pdf(data, **UPLOAD)
    assert info.page_count == 50
    doc = open_pdf(scan_50)
    try:
        for index in range(50):
            page = doc[index]
            check_page(doc, index, dpi=300, max_page_pixels=PIXELS, page=page)
            page.close()
    finally:
        doc.close()


def test_the_scan_still_renders_every_kind_of_page(scan_50) -> None:
    doc = open_pdf(scan_50)
    try:
        for index in range(3):  # Flate, CCITT G4, JPEG
            bitmap = doc[index].render(scale=100 / 72, grayscale=True)
            dark = (bitmap.to_numpy() < 128).mean()
            assert 0.002 < dark < 0.2, (index, dark)
    finally:
        doc.close()


def test_checking_the_scan_stays_within_the_memory_bound(scan_50) -> None:
    figures = run_child([scan_50])
    assert figures[str(scan_50)]["code"] is None
    assert figures[str(scan_50)]["peak_mb"] < RSS_BOUND_MB


@pytest.mark.parametrize("method", ["RC4", "AES_128", "AES_256"])
def test_owner_password_pdfs_are_decrypted_and_counted(method) -> None:
    from fpdf import FPDF
    from fpdf.enums import EncryptionMethod

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(w=0, text=pdfgen.ENGLISH_TEXT)
    pdf.set_encryption(owner_password="owner", encryption_method=EncryptionMethod[method])
    data = bytes(pdf.output())
    scan = limits.scan_pdf(data)
    assert scan.page_content_bytes[0] > 500  # decrypted and inflated, not noise
    assert inspect_pdf(data, **UPLOAD).encrypted is True


def test_text_layer_and_image_pdfs_are_accepted() -> None:
    for data in (
        pdfgen.text_layer_pdf(),
        pdfgen.arabic_text_layer_pdf(),
        pdfgen.image_pdf(pdfgen.text_image(pdfgen.ENGLISH_TEXT)),
        pdfgen.image_pdf(pdfgen.text_image(pdfgen.ENGLISH_TEXT), jpeg_quality=70),
    ):
        assert inspect_pdf(data, **UPLOAD).page_count == 1


def test_a_form_drawn_many_times_is_counted_each_time_but_a_logo_passes() -> None:
    logo = bombgen.repeated_form_bomb(form_size=20 << 10, times=50)  # 1 MB in all
    assert inspect_pdf(logo, **UPLOAD).page_count == 1
    with pytest.raises(PdfError) as err:
        inspect_pdf(bombgen.repeated_form_bomb(form_size=20 << 10, times=250), **UPLOAD)
    assert err.value.code == "decompression_bomb"


# --------------------------------------------------------------------------- the limits


def test_page_content_up_to_the_limit_is_accepted_and_beyond_it_refused(small_limits):
    assert inspect_pdf(bombgen.content_bomb(limits.MiB), **UPLOAD).page_count == 1
    with pytest.raises(PdfError) as err:
        inspect_pdf(bombgen.content_bomb(limits.MiB + 1), **UPLOAD)
    assert err.value.code == "decompression_bomb" and err.value.page == 1
    assert "1 MB" in err.value.message and "per page" in err.value.message


def test_a_stream_beyond_the_stream_limit_is_refused_wherever_it_is(small_limits):
    with pytest.raises(PdfError) as err:
        inspect_pdf(bombgen.font_bomb(2 * limits.MiB + 1), **UPLOAD)
    assert err.value.code == "stream_too_large" and "2 MB" in err.value.message
    inspect_pdf(bombgen.font_bomb(2 * limits.MiB), **UPLOAD)


def test_the_document_total_is_bounded(small_limits):
    # Four streams of 1 MB that no page uses: each is fine, together they exceed 3 MB.
    part = bombgen._stream(bombgen.deflated_zeros(limits.MiB))
    data = bombgen._one_page(bombgen._page(b"[]"), *[part] * 4)
    with pytest.raises(PdfError) as err:
        inspect_pdf(data, **UPLOAD)
    assert err.value.code == "decompression_bomb" and "per document" in err.value.message


def test_images_may_decode_to_their_declared_size_but_not_beyond(small_limits):
    data = bombgen.image_data_bomb(3 * limits.MiB)  # declares 100 x 100 pixels
    with pytest.raises(PdfError) as err:
        inspect_pdf(data, **UPLOAD)
    assert err.value.code == "stream_too_large" and "image" in err.value.message
    honest = pdfgen.image_pdf(pdfgen.text_image("Letter", dpi=72), dpi=72)  # 0.5 MB
    assert inspect_pdf(honest, **UPLOAD).page_count == 1


def test_the_page_image_limit_counts_declared_bytes(small_limits, no_rendering):
    image = pdfgen.text_image("Letter", dpi=150)  # 1240 x 1754 gray: 2.1 MB decoded
    with pytest.raises(PdfError) as err:
        inspect_pdf(pdfgen.image_pdf(image, dpi=150), **UPLOAD)
    assert err.value.code == "page_too_large" and "1 MB" in err.value.message


def test_a_file_of_huge_arrays_is_refused_before_it_exhausts_the_parser(small_limits):
    values = b"[" + b"0.1 " * 60_000 + b"]"  # pdfium would hold each number as an object
    data = bombgen._one_page(bombgen._page(b"[]", b"/Foo 4 0 R"), values)
    with pytest.raises(PdfError) as err:
        inspect_pdf(data, **UPLOAD)
    assert err.value.code == "too_complex" and "50,000 values" in err.value.message


def test_the_settings_configure_the_engine(settings) -> None:
    assert limits.current_limits() == limits.PdfLimits.from_mb(
        stream=settings.OCR_MAX_STREAM_MB,
        page_content=settings.OCR_MAX_PAGE_CONTENT_MB,
        page_images=settings.OCR_MAX_PAGE_IMAGE_MB,
        document=settings.OCR_MAX_DECODED_MB,
    )


def test_the_upload_refuses_a_bomb_with_400_and_the_code() -> None:
    from ground.errors import ApiError
    from ocr.uploads import validate_pdf

    with pytest.raises(ApiError) as err:
        validate_pdf(bombgen.font_bomb())
    assert err.value.status == HTTPStatus.BAD_REQUEST
    assert (err.value.code, err.value.param) == ("stream_too_large", "file")
    assert "32 MB, the limit" in err.value.message


def test_a_worker_scans_a_document_once_for_all_its_pages(scan_50, monkeypatch) -> None:
    calls = []
    real = limits.scan_pdf
    monkeypatch.setattr(limits, "scan_pdf", lambda *a: calls.append(1) or real(*a))
    limits._cache.clear()
    for _ in range(3):
        open_pdf(scan_50).close()
    assert len(calls) == 1


# --------------------------------------------------------------------------- decoders


def decode(filters, raw: bytes, params=None) -> bytes:
    """Decode ``raw`` fed in 7-byte pieces (so groups straddle chunk boundaries)."""
    doc = limits.Document(b"", limits.PdfLimits())
    pieces = iter([raw[i : i + 7] for i in range(0, len(raw), 7)])
    return b"".join(limits.chain(doc, pieces, filters, params))


def test_the_decoders_undo_their_encoders() -> None:
    text = bytes(range(256)) * 40 + b"\x00" * 5000
    assert decode("FlateDecode", zlib.compress(text)) == text
    assert decode(["A85", "Fl"], base64.a85encode(zlib.compress(text)) + b"~>") == text
    assert decode("AHx", text.hex().encode() + b">") == text
    assert decode("RunLengthDecode", bytes([129, 65, 2, 1, 2, 3, 128])) == b"A" * 128 + b"\1\2\3"
    assert decode("LZWDecode", bombgen.lzw_zeros(100_000)) == b"\x00" * 100_000
    assert decode(["FlateDecode", "DCTDecode"], zlib.compress(b"jpeg")) == b"jpeg"


def test_damaged_structure_only_ever_raises_pdf_error() -> None:
    data = bombgen.object_stream_bomb(limits.MiB)
    for cut in range(0, len(data), max(1, len(data) // 200)):
        mangled = data[:cut] + b"<<[(" + data[cut + 4 :]
        with contextlib.suppress(PdfError):
            limits.scan_pdf(mangled)
