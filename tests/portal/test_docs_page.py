"""The API docs page: every link into it from the portal's pages lands on a section that
exists, the table of contents points at real sections, and the document APIs each have
their examples."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest

pytestmark = pytest.mark.django_db

ANCHOR = re.compile(r'href="/docs/#([^"]+)"')
IN_PAGE = re.compile(r'href="#([^"]+)"')
ID = re.compile(r'\sid="([^"]+)"')


def section_ids(client) -> set[str]:
    response = client.get("/docs/")
    assert response.status_code == HTTPStatus.OK
    return set(ID.findall(response.content.decode()))


@pytest.mark.parametrize("page", ["/retrieval/", "/ocr/", "/docs/", "/"])
def test_links_into_the_docs_land_on_a_section(client, alice, page):
    client.force_login(alice)
    ids = section_ids(client)
    body = client.get(page).content.decode()
    anchors = ANCHOR.findall(body) + (IN_PAGE.findall(body) if page == "/docs/" else [])
    if page in ("/retrieval/", "/ocr/", "/docs/"):
        assert anchors, f"{page} links into the docs"
    missing = [a for a in anchors if a not in ids]
    assert not missing, f"{page} links to sections the docs page lacks: {missing}"


def test_document_apis_have_their_examples(client, alice):
    client.force_login(alice)
    body = client.get("/docs/").content.decode()
    for needle in (
        "/ocr/upload",
        "/alRetrieval/collections",
        "client.vector_stores.create",
        "upload_and_poll",
        "client.vector_stores.search",
        '"type": "file_search"',
        "?digits=latin",
    ):
        assert needle in body, needle
