# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""The limits through every way in: the API on a real server and the portal's upload.
A refused upload leaves no document, no stored bytes and no hold."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.models import Hold
from retrieval.models import Document, Page
from retrieval.reading import MAX_PARAGRAPHS
from tests.gateway.conftest import catalog, fake, funded, make_key, server, upstream  # noqa: F401
from tests.retrieval.test_api import Api, api, priced  # noqa: F401 - fixtures
from tests.retrieval.test_limits import deck_of, docx_of, paragraph

pytestmark = pytest.mark.django_db(transaction=True)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def server_stored(cid: str) -> bool:
    """Whether the server process stored any file for the collection (its media folder)."""
    return (Path(settings.VAR_DIR) / "media" / "retrieval" / cid).exists()


@pytest.mark.parametrize(
    ("name", "data", "mime", "code"),
    [
        ("e.docx", docx_of("<w:p/>" * (MAX_PARAGRAPHS + 1)), DOCX, "too_complex"),
        ("d.pptx", deck_of(2_600), "application/octet-stream", "too_many_pages"),
    ],
    ids=["empty-paragraphs-docx", "too-many-slides"],
)
def test_hostile_office_files_are_413_and_nothing_is_written(api, name, data, mime, code):
    cid = api.post().json()["collection_id"]
    response = api.post(f"/{cid}/documents/ingest", files={"file": (name, data, mime)})
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == (code, "file")
    assert not Document.objects.exists()
    assert not server_stored(cid)
    assert not Hold.objects.exists()


def test_a_long_text_file_is_split_into_pages_within_the_page_limit(api):
    cid = api.post().json()["collection_id"]
    text = ("The harbour had a lighthouse that guided the ships. " * 40 + "\n\n") * 600
    assert len(text) > 6 * settings.RETRIEVAL_MAX_PAGE_CHARS
    answer = api.ingest(cid, "long.txt", text.encode(), "text/plain")
    assert answer["pages"] >= 7
    api.wait_ready(cid, answer["id"])
    texts = Page.objects.filter(document__doc_id=answer["id"]).values_list("text", flat=True)
    assert len(texts) == answer["pages"]
    assert max(len(t) for t in texts) <= settings.RETRIEVAL_MAX_PAGE_CHARS
    hit = api.post(f"/{cid}/query", json={"query": "lighthouse"}).json()["context"][0]
    assert hit["document_id"] == answer["id"]


def test_the_portal_upload_has_the_same_limits(client, alice, collection, settings):
    settings.RETRIEVAL_MAX_PAGE_CHARS = 1_000
    client.force_login(alice)
    long_text = ("The harbour had a lighthouse. " * 30 + "\n\n") * 20
    files = [
        SimpleUploadedFile("long.txt", long_text.encode(), "text/plain"),
        SimpleUploadedFile("e.docx", docx_of("<w:p/>" * (MAX_PARAGRAPHS + 1)), DOCX),
        SimpleUploadedFile("slide.docx", docx_of(paragraph("word " * 50)), DOCX),
    ]
    response = client.post(
        reverse("retrieval-collection", args=[collection.collection_id]), {"files": files}
    )
    uploads = {u["name"]: u for u in response.context["uploads"]}
    assert uploads["long.txt"]["ok"] and uploads["long.txt"]["pages"] > 10
    assert (uploads["e.docx"]["status"], uploads["e.docx"]["code"]) == (413, "too_complex")
    assert uploads["slide.docx"]["ok"]
    document = Document.objects.get(filename="long.txt")
    lengths = [
        len(t) for t in Page.objects.filter(document=document).values_list("text", flat=True)
    ]
    assert max(lengths) <= 1_000
    assert not Document.objects.filter(filename="e.docx").exists()
