# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""The playground's "Chat with your documents": a Responses ``file_search`` call over one
of the user's own vector stores, made by the session (no key), through the gateway's own
pipeline: searched, answered and billed on one request id with ``source="playground"``,
and refused (404, 402, 403) exactly as ``/v1/responses`` refuses."""

from __future__ import annotations

import json
from decimal import Decimal
from http import HTTPStatus

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from billing.wallets import wallet_summary
from catalog.snapshots import bump_catalog_version
from gateway import ratelimit
from playground import views
from retrieval import collections, ingest
from retrieval.models import Document
from tests.gateway.conftest import add_model, catalog, fake, funded, upstream  # noqa: F401
from tests.retrieval.test_api import QUERY_PRICE, priced  # noqa: F401 - fixtures
from tests.support.orgs import org_id
from usage.drain import discard_pending_events, drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
HARBOUR = [
    "Ships once crowded the old port of the city.",
    "The lighthouse of Pharos guided the ships into the harbour for centuries.",
]
QUESTION = [{"role": "user", "content": "Which lighthouse guided the ships?"}]
CITED = "The lighthouse of Pharos guided them [1]. Nothing says more [9]."


@pytest.fixture(autouse=True)
def _fresh_gateway_state(settings, monkeypatch):
    settings.LOCAL_MODEL_TOKENS_PER_SECOND = 100_000
    settings.LOCAL_MODEL_FIRST_TOKEN_MS = 0
    discard_pending_events()
    monkeypatch.setattr(ratelimit, "_limiter", None)
    monkeypatch.setattr(views, "USAGE_WAIT_SECONDS", 0)
    bump_catalog_version()
    yield
    discard_pending_events()
    bump_catalog_version()


def make_store(user, name: str = "Harbours") -> str:
    """A vector store with a two-page document (the lighthouse on page 2)."""
    collection = collections.create_collection(user, name)
    ingest.ingest_pages(user, collection.collection_id, "Harbour", "harbour.md", HARBOUR)
    return collection.vector_store_id


@pytest.fixture
def store(funded, catalog, priced) -> str:
    bump_catalog_version()  # the models the fixtures just made
    return make_store(funded)


def ask(user, body: dict) -> tuple[int, dict[str, str], bytes]:
    """POST /playground/documents as ``user`` and read the whole answer."""
    client = AsyncClient()
    client.force_login(user)

    async def run():
        response = await client.post(
            "/playground/documents", data=json.dumps(body), content_type="application/json"
        )
        if response.streaming:
            content = b"".join([chunk async for chunk in response.streaming_content])
        else:
            content = response.content
        return response.status_code, dict(response.headers), content

    return async_to_sync(run)()


def events(raw: bytes) -> list[dict]:
    found = []
    for block in raw.decode().split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data: "):
                found.append(json.loads(line.removeprefix("data: ")))
    return found


def of_type(stream: list[dict], kind: str) -> list[dict]:
    return [e for e in stream if e.get("type") == kind]


def error_of(content: bytes) -> dict:
    return json.loads(content)["error"]


def test_a_question_is_searched_answered_and_billed_on_one_request_id(funded, store):
    before = Decimal(wallet_summary(org_id(funded))["balance_usd"])
    status, headers, content = ask(
        funded, {"model": "portico/test-chat", "messages": QUESTION, "vector_store_id": store}
    )
    assert status == HTTPStatus.OK, content
    assert headers["Content-Type"].startswith("text/event-stream")
    stream = events(content)
    [search] = [
        e["item"]
        for e in of_type(stream, "response.output_item.done")
        if e["item"]["type"] == "file_search_call"
    ]
    assert search["queries"] == ["Which lighthouse guided the ships?"]  # test-chat plans nothing
    top = search["results"][0]
    assert (top["filename"], top["page_start"], top["vector_store_id"]) == ("harbour.md", 2, store)
    text = "".join(e["delta"] for e in of_type(stream, "response.output_text.delta"))
    assert "Portico's built-in test model" in text
    assert of_type(stream, "response.completed")

    request_id = headers["x-request-id"]
    drain_usage()
    answer = UsageRecord.objects.get(request_id=request_id)
    searched = UsageRecord.objects.get(request_id=f"{request_id}_fs1")
    assert (answer.source, answer.endpoint, answer.api_key_id) == ("playground", "responses", None)
    assert (searched.source, searched.endpoint, searched.model) == (
        "playground",
        "responses.file_search",
        "portico/alretrieval",
    )
    assert searched.cost_usd == QUERY_PRICE and answer.cost_usd > 0
    after = Decimal(wallet_summary(org_id(funded))["balance_usd"])
    assert before - after == answer.cost_usd + searched.cost_usd

    # The page's usage line: the answer and its search, together.
    client = Client()
    client.force_login(funded)
    usage = client.get(f"/playground/usage/{request_id}").json()
    assert Decimal(usage["cost_usd"]) == answer.cost_usd + searched.cost_usd
    assert usage["searches"] == 1


def test_a_model_through_the_upstream_plans_its_search_and_cites_the_page(funded, store, fake):
    fake.configure(completion_text=CITED)
    status, headers, content = ask(
        funded, {"model": "fake-llm", "messages": QUESTION, "vector_store_id": store}
    )
    assert status == HTTPStatus.OK, content
    stream = events(content)
    [citation] = [e["annotation"] for e in of_type(stream, "response.output_text.annotation.added")]
    assert (citation["filename"], citation["page_start"]) == ("harbour.md", 2)
    assert citation["index"] == CITED.index("[1]")  # [9] named no result: not annotated
    request_id = headers["x-request-id"]
    drain_usage()
    parts = UsageRecord.objects.filter(request_id__startswith=request_id).order_by("request_id")
    assert [(r.request_id.removeprefix(request_id), r.source) for r in parts] == [
        ("", "playground"),
        ("_fs1", "playground"),
        ("_plan", "playground"),
    ]


def test_the_page_offers_only_the_users_own_stores(funded, store, bob):
    bobs = make_store(bob, "Bob's secrets")
    client = Client()
    client.force_login(funded)
    page = client.get("/playground/")
    assert page.context["stores"] == [{"id": store, "name": "Harbours", "ready": 1}]
    assert bobs.encode() not in page.content and b"Bob&#x27;s secrets" not in page.content


def test_another_users_store_and_a_deleted_one_are_404(funded, store, bob):
    bobs = make_store(bob, "Bob's secrets")
    for vs_id in (bobs, "vs_0123456789abcdef0123456789abcdef"):
        status, _, content = ask(
            funded, {"model": "portico/test-chat", "messages": QUESTION, "vector_store_id": vs_id}
        )
        assert status == HTTPStatus.NOT_FOUND
        error = error_of(content)
        assert (error["code"], error["param"]) == (
            "vector_store_not_found",
            "tools.vector_store_ids[0]",
        )
    collections.delete_collection(funded, store.removeprefix("vs_"))
    status, _, content = ask(
        funded, {"model": "portico/test-chat", "messages": QUESTION, "vector_store_id": store}
    )
    assert status == HTTPStatus.NOT_FOUND
    assert "No such vector store" in error_of(content)["message"]
    drain_usage()
    assert not UsageRecord.objects.filter(endpoint="responses.file_search").exists()


def test_a_wallet_that_cannot_pay_gets_402_before_anything_is_searched(charlie, catalog, priced):
    bump_catalog_version()
    vs_id = make_store(charlie)
    status, headers, content = ask(
        charlie, {"model": "portico/test-chat", "messages": QUESTION, "vector_store_id": vs_id}
    )
    assert status == HTTPStatus.PAYMENT_REQUIRED
    assert error_of(content)["code"] == "insufficient_balance"
    drain_usage()
    record = UsageRecord.objects.get(request_id=headers["x-request-id"])
    assert (record.status, record.http_status, record.source) == ("error", 402, "playground")
    assert not UsageRecord.objects.filter(request_id__startswith=headers["x-request-id"] + "_")


def test_an_account_held_away_from_retrieval_is_refused_as_the_api_refuses(funded, store):
    funded.allowed_models = ["portico/test-chat"]
    funded.save()
    status, _, content = ask(
        funded, {"model": "portico/test-chat", "messages": QUESTION, "vector_store_id": store}
    )
    assert status == HTTPStatus.FORBIDDEN
    error = error_of(content)
    assert (error["code"], error["param"]) == ("model_not_allowed", "tools")
    assert error["message"].startswith("Your account may not use the model 'portico/alretrieval'")
    drain_usage()
    assert not UsageRecord.objects.filter(cost_usd__gt=0).exists()


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "portico/test-chat", "messages": QUESTION}, "vector_store_id"),
        ({"model": "portico/test-chat", "messages": QUESTION, "vector_store_id": 7}, "vector_store_id"),
        ({"model": "portico/test-chat", "messages": "hi", "vector_store_id": "vs_x"}, "messages"),
        (
            {"model": "portico/test-chat", "messages": QUESTION, "vector_store_id": "vs_\x00"},
            "tools[0].vector_store_ids[0]",
        ),
        (
            {"model": "portico/test-chat", "messages": QUESTION, "vector_store_id": "vs_x",
             "temperature": "hot"},
            "temperature",
        ),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_in_the_apis_shape(funded, catalog, body, param):
    status, _, content = ask(funded, body)
    assert status == HTTPStatus.BAD_REQUEST, content
    assert error_of(content)["param"] == param


def test_a_cited_page_opens_for_its_owner_only(funded, store, bob):
    document = Document.objects.get(collection__owner=funded)
    cited = f"/retrieval/sources/{store}/{document.file.file_id}/pages/2/?q=lighthouse"
    owner = Client()
    owner.force_login(funded)
    opened = owner.get(cited)
    assert opened.status_code == HTTPStatus.FOUND
    collection_id = store.removeprefix("vs_")
    page = f"/retrieval/{collection_id}/documents/{document.doc_id}/pages/2/?q=lighthouse"
    assert opened["Location"] == page
    assert "Pharos" in owner.get(page).content.decode()
    assert owner.get(cited.replace("/pages/2/", "/pages/3/")).status_code == HTTPStatus.NOT_FOUND
    assert owner.get(cited.replace("file-", "file-x")).status_code == HTTPStatus.NOT_FOUND
    other = Client()
    other.force_login(bob)
    assert other.get(cited).status_code == HTTPStatus.NOT_FOUND
