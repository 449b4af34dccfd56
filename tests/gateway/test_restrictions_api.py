# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""An account held to one model at a few requests a minute is held to it on every ``/v1``
route that uses a model or spends money — chat, responses, embeddings, OCR upload and
retry, and every alRetrieval route that uses the retrieval model (a PDF's ingest also
uses OCR). Refusals name whose allowlist refuses: the account's, or the key's. Nothing
refused is held, queued or charged."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import httpx
import pytest

from billing.models import Wallet
from ocr.models import OcrJob
from retrieval import collections
from retrieval.ingest import ingest_pages
from retrieval.models import Collection, Document
from tests.gateway.conftest import add_model, catalog, fake, funded, make_key, server, upstream  # noqa: F401 - fixtures
from tests.ocr.conftest import one_page_pdf
from usage.drain import drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
ACCOUNT = "Your account may not use the model"
KEY = "This API key may not use the model"
ALL_SCOPES = ["chat", "embeddings", "models", "ocr", "alretrieval", "usage"]


@pytest.fixture
def services(catalog):
    """The retrieval and OCR catalog entries (priced, as in the shipped catalog)."""
    local = catalog["local"]
    add_model(
        "portico/alretrieval",
        [(local, "alretrieval", 1)],
        type="retrieval",
        unit_price=Decimal("0.002"),
    )
    add_model("portico/ocr", [(local, "ocr", 1)], type="ocr", unit_price=Decimal("0.01"))
    add_model("portico/test-embedding", [(local, "test-embedding", 1)], type="embedding")


@pytest.fixture
def held_to_test_chat(funded, services):
    """What an admin did: the account may use ``portico/test-chat`` only, 5 a minute."""
    funded.allowed_models = ["portico/test-chat"]
    funded.rpm_limit = 5
    funded.save()
    return funded


def call(server, secret: str, method: str, path: str, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {secret}"}
    return httpx.request(method, server.url + path, headers=headers, timeout=60, **kwargs)


def assert_refused(response: httpx.Response, whose: str, model: str) -> None:
    assert response.status_code == HTTPStatus.FORBIDDEN, response.text
    error = response.json()["error"]
    assert error["code"] == "model_not_allowed"
    assert error["message"].startswith(f"{whose} '{model}'"), error["message"]
    assert response.headers["x-request-id"].startswith("req_")


def nothing_spent(user) -> None:
    wallet = Wallet.objects.get(organization__personal_for=user)
    assert wallet.held_usd == 0
    assert wallet.balance_usd == Decimal("10")
    drain_usage()
    assert not UsageRecord.objects.filter(user=user, cost_usd__gt=0).exists()


PDF = {"file": ("scan.pdf", one_page_pdf(), "application/pdf")}
TXT = {"file": ("notes.txt", b"The harbour budget grew.", "text/plain")}


def test_chat_responses_and_embeddings_refuse_the_accounts_other_models(
    server, make_key, held_to_test_chat
):
    secret = make_key(scopes=ALL_SCOPES)
    chat = {"model": "fake-llm", "messages": [{"role": "user", "content": "hi"}]}
    assert_refused(
        call(server, secret, "POST", "/v1/chat/completions", json=chat), ACCOUNT, "fake-llm"
    )
    responses = {"model": "fake-llm", "input": "hi"}
    assert_refused(
        call(server, secret, "POST", "/v1/responses", json=responses), ACCOUNT, "fake-llm"
    )
    embed = {"model": "fake-embed", "input": "hi"}
    assert_refused(
        call(server, secret, "POST", "/v1/embeddings", json=embed), ACCOUNT, "fake-embed"
    )
    allowed = {"model": "portico/test-chat", "messages": [{"role": "user", "content": "hi"}]}
    assert call(server, secret, "POST", "/v1/chat/completions", json=allowed).status_code == 200


def test_ocr_upload_and_retry_refuse_an_account_held_to_chat(server, make_key, held_to_test_chat):
    secret = make_key(scopes=ALL_SCOPES)
    assert_refused(
        call(server, secret, "POST", "/v1/ocr/upload", files=PDF), ACCOUNT, "portico/ocr"
    )
    retry = call(server, secret, "POST", "/v1/ocr/jobs/anything/retry")
    assert_refused(retry, ACCOUNT, "portico/ocr")
    assert not OcrJob.objects.exists()
    nothing_spent(held_to_test_chat)


def test_retrieval_refuses_create_ingest_and_query(server, make_key, held_to_test_chat):
    secret = make_key(scopes=ALL_SCOPES)
    base = "/v1/alRetrieval/collections"
    model = "portico/alretrieval"
    assert_refused(call(server, secret, "POST", base, json={"name": "x"}), ACCOUNT, model)
    # A collection made while the account could still use retrieval:
    collection = collections.create_collection(held_to_test_chat, "earlier")
    ingest_pages(held_to_test_chat, collection.collection_id, "t", None, ["harbour"])
    cid = collection.collection_id
    ingest = f"{base}/{cid}/documents/ingest"
    assert_refused(call(server, secret, "POST", ingest, files=TXT), ACCOUNT, model)
    assert_refused(call(server, secret, "POST", ingest, files=PDF), ACCOUNT, model)
    query = call(server, secret, "POST", f"{base}/{cid}/query", json={"query": "harbour"})
    assert_refused(query, ACCOUNT, model)
    # What uses no model still works: the account can see and delete its data.
    assert call(server, secret, "GET", base).json()["collections"][0]["collection_id"] == cid
    assert call(server, secret, "DELETE", f"{base}/{cid}").status_code == HTTPStatus.OK
    nothing_spent(held_to_test_chat)
    assert not Collection.objects.exists()


def test_a_pdf_ingest_needs_the_ocr_model_too(server, make_key, funded, services):
    funded.allowed_models = ["portico/alretrieval"]  # retrieval, but not OCR
    funded.save()
    secret = make_key(scopes=ALL_SCOPES)
    base = "/v1/alRetrieval/collections"
    cid = call(server, secret, "POST", base, json={}).json()["collection_id"]
    ingest = f"{base}/{cid}/documents/ingest"
    assert_refused(call(server, secret, "POST", ingest, files=PDF), ACCOUNT, "portico/ocr")
    assert not Document.objects.exists()
    assert call(server, secret, "POST", ingest, files=TXT).status_code == HTTPStatus.OK
    nothing_spent(funded)


def test_a_keys_own_allowlist_is_named_as_the_keys(server, make_key, funded, services):
    secret = make_key(scopes=ALL_SCOPES, models=["portico/test-chat"])
    assert_refused(call(server, secret, "POST", "/v1/ocr/upload", files=PDF), KEY, "portico/ocr")
    base = "/v1/alRetrieval/collections"
    assert_refused(call(server, secret, "POST", base, json={}), KEY, "portico/alretrieval")
    nothing_spent(funded)


def test_the_accounts_rate_limit_counts_retrieval_queries(server, make_key, funded, services):
    funded.allowed_models = ["portico/alretrieval"]
    funded.rpm_limit = 3
    funded.save()
    collection = collections.create_collection(funded, "c")
    cid = collection.collection_id
    ingest_pages(funded, cid, "t", None, ["The harbour budget grew."])
    secret = make_key(scopes=ALL_SCOPES)
    path = f"/v1/alRetrieval/collections/{cid}/query"
    answers = []
    while len(answers) < 7 and (not answers or answers[-1].status_code != 429):
        answers.append(call(server, secret, "POST", path, json={"query": "harbour"}))
    # The fourth within a minute is refused; the limiter counts per minute, so when a
    # minute's boundary falls between them, the fourth of the new minute is.
    codes = [a.status_code for a in answers]
    assert codes[-1] == 429 and set(codes[:-1]) == {200} and len(codes) >= 4, codes
    error = answers[-1].json()["error"]
    assert "3 requests per minute for your account" in error["message"]
    assert int(answers[-1].headers["retry-after"]) >= 1
    drain_usage()
    charged = UsageRecord.objects.filter(user=funded, model="portico/alretrieval", cost_usd__gt=0)
    assert charged.count() == len(codes) - 1


def test_vector_stores_refuse_create_attach_batch_and_search(server, make_key, held_to_test_chat):
    """The OpenAI face of the same collections: held to the same model the same way."""
    secret = make_key(scopes=ALL_SCOPES)
    model = "portico/alretrieval"
    assert_refused(call(server, secret, "POST", "/v1/vector_stores", json={}), ACCOUNT, model)
    collection = collections.create_collection(held_to_test_chat, "earlier")
    ingest_pages(held_to_test_chat, collection.collection_id, "t", None, ["harbour"])
    vs = f"/v1/vector_stores/vs_{collection.collection_id}"
    uploaded = call(server, secret, "POST", "/v1/files", files=TXT, data={"purpose": "assistants"})
    assert uploaded.status_code == HTTPStatus.OK  # storing a file uses no model
    file_id = uploaded.json()["id"]
    attach = call(server, secret, "POST", vs + "/files", json={"file_id": file_id})
    assert_refused(attach, ACCOUNT, model)
    batch = call(server, secret, "POST", vs + "/file_batches", json={"file_ids": [file_id]})
    assert_refused(batch, ACCOUNT, model)
    search = call(server, secret, "POST", vs + "/search", json={"query": "harbour"})
    assert_refused(search, ACCOUNT, model)
    assert call(server, secret, "GET", vs).json()["file_counts"]["total"] == 1
    assert call(server, secret, "DELETE", vs).status_code == HTTPStatus.OK
    nothing_spent(held_to_test_chat)


def test_attaching_a_pdf_needs_the_ocr_model_and_a_key_needs_the_scope(
    server, make_key, funded, services
):
    funded.allowed_models = ["portico/alretrieval"]  # retrieval, but not OCR
    funded.save()
    secret = make_key(scopes=ALL_SCOPES)
    pdf = call(server, secret, "POST", "/v1/files", files=PDF, data={"purpose": "assistants"})
    store = call(server, secret, "POST", "/v1/vector_stores", json={}).json()["id"]
    attach = call(
        server,
        secret,
        "POST",
        f"/v1/vector_stores/{store}/files",
        json={"file_id": pdf.json()["id"]},
    )
    assert_refused(attach, ACCOUNT, "portico/ocr")
    assert not Document.objects.exists()
    nothing_spent(funded)
    chat_only = make_key(scopes=["chat"])
    for method, path in [
        ("GET", "/v1/files"),
        ("GET", "/v1/vector_stores"),
        ("POST", f"/v1/vector_stores/{store}/search"),
    ]:
        refused = call(
            server, chat_only, method, path, json={"query": "x"} if method == "POST" else None
        )
        assert refused.status_code == HTTPStatus.FORBIDDEN, (path, refused.text)
