# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""Deleting a PDF document, or its collection, before its pages are read releases the
funds held for them at once (through the API, on a real server whose tasks wait for a
worker that is not there, so the documents stay queued)."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import pytest

from billing.models import Hold, Wallet
from retrieval.models import Document
from tests.gateway.conftest import (  # noqa: F401 - fixtures
    add_model,
    catalog,
    fake,
    funded,
    make_key,
    upstream,
    wait_for_test_catalog,
)
from tests.ocr.pdfgen import text_layer_pdf
from tests.retrieval.test_api import PAGE_PRICE, Api, priced  # noqa: F401 - fixture
from tests.support.processes import PorticoServer, child_env
from usage.drain import drain_usage
from usage.models import UsageRecord

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_shared_worker")]


@pytest.fixture(scope="module")
def waiting_server(django_db_setup):
    """A real server whose indexing tasks go to the broker (no worker takes them here)."""
    server = PorticoServer(child_env(CELERY_TASK_ALWAYS_EAGER="0"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def api(waiting_server, catalog, make_key, priced) -> Api:
    wait_for_test_catalog(waiting_server.url, catalog, make_key)
    return Api(waiting_server, make_key(scopes=["alretrieval"]))


def ingest_pdf(api: Api, cid: str, name: str) -> str:
    answer = api.ingest(cid, name, text_layer_pdf(f"{name}: harbour report"), "application/pdf")
    assert Document.objects.get(doc_id=answer["id"]).status == Document.Status.QUEUED
    return answer["id"]


def held(user) -> Decimal:
    return Wallet.objects.get(organization__personal_for=user).held_usd


def test_deleting_a_pdf_before_it_is_read_releases_its_hold_at_once(api, funded):
    cid = api.post().json()["collection_id"]
    doc_id = ingest_pdf(api, cid, "report.pdf")
    request_id = Document.objects.get(doc_id=doc_id).billing_request_id
    assert held(funded) == PAGE_PRICE
    response = api.delete(f"/{cid}/documents/{doc_id}")
    assert response.status_code == HTTPStatus.OK, response.text
    assert held(funded) == 0  # at once, not after the hold's 72 hours
    assert Hold.objects.get(request_id=request_id).status == Hold.Status.RELEASED
    drain_usage()
    record = UsageRecord.objects.get(request_id=request_id)
    assert (record.status, record.error_code, record.cost_usd) == (
        "cancelled",
        "document_deleted",
        0,
    )
    assert Wallet.objects.get(organization__personal_for=funded).balance_usd == 10


def test_deleting_a_collection_releases_the_holds_of_its_unread_pdfs(api, funded):
    cid = api.post().json()["collection_id"]
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        ingest_pdf(api, cid, name)
    assert held(funded) == 3 * PAGE_PRICE
    response = api.delete(f"/{cid}")
    assert response.status_code == HTTPStatus.OK, response.text
    assert held(funded) == 0
    assert not Hold.objects.filter(status=Hold.Status.OPEN).exists()
    drain_usage()
    assert Wallet.objects.get(organization__personal_for=funded).balance_usd == 10
