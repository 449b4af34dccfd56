"""The same limits for every format: pages, characters per page (flowing text is split
into pages), characters per document; hostile Office files are refused with their own
code, reading them holds little memory, and a refusal writes nothing."""

from __future__ import annotations

import base64
import io
import random
import tracemalloc
import zipfile
from http import HTTPStatus

import pytest
from django.core.files.storage import default_storage

from retrieval import errors, ingest
from retrieval.extract import Limits, extract, extract_docx, extract_pptx, page_text
from retrieval.models import Document, Page
from retrieval.reading import MAX_PARAGRAPHS, ExtractionError

pytestmark = pytest.mark.django_db(transaction=True)
DOCUMENT = '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'


def docx_of(body: str) -> bytes:
    """A DOCX of ``body``, with random bytes besides (in an attribute: no text) so that
    it compresses as a real file does, within the archive's ratio limit."""
    noise = base64.b64encode(random.Random(1).randbytes(max(len(body) // 150, 100))).decode()
    body = f'<w:bookmarkStart w:id="0" w:name="{noise}"/>{body}'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", f"{DOCUMENT}<w:body>{body}</w:body></w:document>")
    return out.getvalue()


def paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def refused(call, *args) -> errors.RetrievalError:
    with pytest.raises(errors.RetrievalError) as caught:
        call(*args)
    return caught.value


def nothing_written(collection) -> bool:
    return not Document.objects.exists() and not default_storage.exists(
        f"retrieval/{collection.collection_id}"
    )


# --- DOCX: bounded memory, refused when it is mostly empty structure ---------------------
def test_a_docx_of_empty_paragraphs_is_refused_as_too_complex(alice, collection):
    bomb = docx_of("<w:p/>" * (MAX_PARAGRAPHS + 1) + paragraph("late text"))
    error = refused(ingest.ingest_file, alice, collection.collection_id, "e.docx", "", bomb)
    assert (error.status, error.code, error.param) == (413, "too_complex", "file")
    assert "paragraphs" in error.message
    assert nothing_written(collection)


def test_reading_a_large_docx_holds_one_paragraph_at_a_time():
    many = docx_of("<w:p/>" * 200_000 + paragraph("the only words"))
    tracemalloc.start()
    try:
        pages = extract_docx(many)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert pages == [[("p", "the only words")]]
    # The part is 1.2 MB of XML; the tree of its 200,000 paragraphs that the previous
    # reader built took 17.5 MiB here (streaming: 0.7 MiB).
    assert peak < 4 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_a_paragraph_of_too_many_elements_is_refused():
    with pytest.raises(ExtractionError) as caught:
        extract_docx(docx_of("<w:p>" + "<w:r/>" * 100_001 + "</w:p>"))
    assert (caught.value.code, caught.value.status) == ("too_complex", 413)


def test_the_text_a_docx_yields_counts_against_the_document_limit():
    data = docx_of(paragraph("word " * 300) * 10)
    with pytest.raises(ExtractionError) as caught:
        extract_docx(data, Limits(max_chars=2_000))
    assert (caught.value.code, caught.value.status) == ("document_too_long", 413)


def test_docx_tables_and_content_controls_are_read_row_by_row():
    table = (
        "<w:tbl><w:tblPr/><w:tr><w:tc><w:p><w:r><w:t>Year</w:t></w:r></w:p></w:tc>"
        "<w:tc><w:p><w:r><w:t>Revenue</w:t></w:r></w:p></w:tc></w:tr>"
        "<w:tr><w:tc><w:p><w:r><w:t>2024</w:t></w:r></w:p></w:tc>"
        "<w:tc><w:p><w:r><w:t>12</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
    )
    sdt = f"<w:sdt><w:sdtPr/><w:sdtContent>{paragraph('inside a control')}</w:sdtContent></w:sdt>"
    pages = extract_docx(docx_of(paragraph("before") + table + sdt))
    assert pages == [
        [("p", "before"), ("p", "Year | Revenue"), ("p", "2024 | 12"), ("p", "inside a control")]
    ]


# --- Flowing text is split into pages; the same limits for every format -------------------
@pytest.mark.parametrize("extension", [".txt", ".md", ".docx"])
def test_long_flowing_text_is_split_into_pages_within_the_page_limit(extension):
    paragraphs = [f"Paragraph {n} " + "lorem ipsum dolor " * 30 for n in range(40)]
    if extension == ".docx":
        data = docx_of("".join(paragraph(p) for p in paragraphs))
    else:
        data = "\n\n".join(paragraphs).encode()
    limits = Limits(max_page_chars=2_000)
    pages = extract(extension, data, limits)
    assert len(pages) > 1
    assert all(len(page_text(page)) <= 2_000 for page in pages)
    text = " ".join(page_text(page) for page in pages)
    assert all(p.strip() in text for p in paragraphs)  # cut between paragraphs
    assert "Paragraph 39" in page_text(pages[-1])


def test_one_endless_line_is_cut_between_words():
    pages = extract(".txt", ("word " * 1_000).encode(), Limits(max_page_chars=500))
    assert len(pages) >= 10
    assert all(len(page_text(page)) <= 500 for page in pages)
    assert all(text.split() == ["word"] * len(text.split()) for p in pages for _, text in p)


def test_an_uploaded_text_file_gets_the_page_limit_json_ingest_has(alice, collection, settings):
    settings.RETRIEVAL_MAX_PAGE_CHARS = 1_000
    data = ("The harbour had a lighthouse. " * 40 + "\n\n") * 20  # ~24,000 characters
    document = ingest.ingest_file(alice, collection.collection_id, "long.txt", "", data.encode())
    assert document.pages > 20
    lengths = list(Page.objects.filter(document=document).values_list("text", flat=True))
    assert len(lengths) == document.pages
    assert max(len(text) for text in lengths) <= 1_000
    assert Document.objects.get(pk=document.pk).status == Document.Status.READY


def test_documents_over_the_character_limit_are_refused_in_every_format(
    alice, collection, settings
):
    settings.RETRIEVAL_MAX_DOCUMENT_CHARS = 5_000
    cid = collection.collection_id
    text = "lighthouse " * 1_000
    for name, data in (("a.txt", text.encode()), ("a.md", text.encode())):
        error = refused(ingest.ingest_file, alice, cid, name, "", data)
        assert (error.status, error.code) == (413, "document_too_long")
    error = refused(ingest.ingest_file, alice, cid, "a.docx", "", docx_of(paragraph(text)))
    assert (error.status, error.code) == (413, "document_too_long")
    error = refused(ingest.ingest_pages, alice, cid, "t", None, [text[:4_000], text[:4_000]])
    assert (error.status, error.code, error.param) == (413, "document_too_long", "pages")
    assert nothing_written(collection)


def test_text_split_past_the_page_limit_is_refused(alice, collection, settings):
    settings.RETRIEVAL_MAX_PAGE_CHARS = 1_000
    settings.RETRIEVAL_MAX_PAGES = 3
    data = ("lighthouse " * 90 + "\n\n") * 10
    error = refused(ingest.ingest_file, alice, collection.collection_id, "a.txt", "", data.encode())
    assert (error.status, error.code) == (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_many_pages")
    assert nothing_written(collection)


# --- PPTX ----------------------------------------------------------------------------------
def deck_of(slides: int) -> bytes:
    """A deck with ``slides`` slide parts (and their relationships): more ZIP members
    than the archive limit allows once past 2,500 slides."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ppt/presentation.xml", "<p/>")
        for n in range(1, slides + 1):
            archive.writestr(f"ppt/slides/slide{n}.xml", "<s/>")
            archive.writestr(f"ppt/slides/_rels/slide{n}.xml.rels", "<r/>")
    return out.getvalue()


def test_a_deck_with_too_many_slides_is_refused_for_that_not_as_a_zip_bomb(alice, collection):
    error = refused(
        ingest.ingest_file, alice, collection.collection_id, "d.pptx", "", deck_of(2_600)
    )
    assert (error.status, error.code, error.param) == (413, "too_many_pages", "file")
    assert "2600 slides" in error.message and "2000" in error.message
    assert nothing_written(collection)


def test_a_slide_longer_than_the_page_limit_is_refused():
    from tests.retrieval.conftest import make_pptx

    data = make_pptx([{"title": "Long", "body": ["lighthouse " * 300]}])
    with pytest.raises(ExtractionError) as caught:
        extract_pptx(data, Limits(max_page_chars=1_000))
    assert (caught.value.code, caught.value.status) == ("page_too_long", 413)
    assert extract_pptx(data, Limits(max_page_chars=10_000))[0][0] == ("h", "Long")


# --- PDF -------------------------------------------------------------------------------------
def test_pdfs_have_the_page_limit_of_every_other_format(settings):
    from tests.ocr.pdfgen import many_pages_pdf

    settings.OCR_MAX_PAGES = 2  # /v1/ocr's job limit is not retrieval's
    settings.RETRIEVAL_MAX_PAGES = 5
    assert ingest.read_upload(".pdf", many_pages_pdf(4)) == (None, 4)
    error = refused(ingest.read_upload, ".pdf", many_pages_pdf(6))
    assert (error.status, error.code) == (413, "too_many_pages")
