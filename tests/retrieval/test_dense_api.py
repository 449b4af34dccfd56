# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""Dense retrieval end to end: a real server with ``RETRIEVAL_EMBEDDING_MODEL`` naming a
catalog embedding model served by the fake upstream on loopback.

The fake's vectors are hashes of the exact input (no meaning), so these tests check the
wiring, fusion, metering and failure handling, not semantic quality: a passage made only
of stop words has no index terms and can only be found by its vector, when the query is
its exact text."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import numpy as np
import pytest

from billing.models import Wallet
from retrieval.models import Chunk, Document
from tests.gateway.conftest import (  # noqa: F401 - fixtures
    add_model,
    catalog,
    fake,
    funded,
    make_key,
    upstream,
    wait_for_test_catalog,
)
from tests.retrieval.test_api import QUERY_PRICE, Api, priced  # noqa: F401 - fixtures
from tests.support.processes import PorticoServer, child_env, wait_for
from usage.drain import drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
EMBED_PRICE_PER_1M = Decimal("0.1")  # fake-embed in the gateway tests' catalog
STOP_TITLE = "About this"
STOP_TEXT = "It is what it was, and they were there."  # only stop words: no index terms


@pytest.fixture(scope="module")
def dense_process(django_db_setup):
    env = child_env(
        CELERY_TASK_ALWAYS_EAGER="1",
        RETRIEVAL_EMBEDDING_MODEL="fake-embed",
        # A failing upstream in one test must not leave the deployment cooling down.
        DEPLOYMENT_FAILURES_BEFORE_COOLDOWN="1000",
    )
    server = PorticoServer(env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def api(dense_process, catalog, make_key, priced, settings) -> Api:
    settings.RETRIEVAL_EMBEDDING_MODEL = "fake-embed"
    wait_for_test_catalog(dense_process.url, catalog, make_key)
    return Api(dense_process, make_key(scopes=["alretrieval"]))


def ingest_pages(api: Api, cid: str, title: str, pages: list[str]) -> str:
    response = api.post(f"/{cid}/documents/ingest", json={"title": title, "pages": pages})
    assert response.status_code == HTTPStatus.OK, response.text
    doc_id = response.json()["id"]
    api.wait_ready(cid, doc_id)
    return doc_id


def records(**filters) -> list[UsageRecord]:
    drain_usage()
    return list(UsageRecord.objects.filter(source="alretrieval", **filters).order_by("pk"))


def test_passages_and_queries_are_embedded_fused_and_charged(api, fake, funded):
    cid = api.post(json={"name": "dense"}).json()["collection_id"]
    listed = api.get().json()["collections"]
    assert listed[0]["dense_retrieval"] is True
    pages = [f"Page {n} tells of harbour number {n} and its ships." for n in range(70)]
    pages.append(STOP_TEXT)
    ingest_pages(api, cid, "Harbours", pages)
    stop_doc = ingest_pages(api, cid, STOP_TITLE, [STOP_TEXT])

    # After the lexical index, batched through the gateway's path: 71 passages in
    # three upstream calls, one more for the second document; float32 vectors of the
    # model's size on every passage.
    calls = [r for r in fake.requests() if r["path"] == "/v1/embeddings"]
    assert [len(r["body"]["input"]) for r in calls] == [32, 32, 7, 1]
    assert all(r["body"]["model"] == "fake-embed" for r in calls)
    assert "input_type" not in calls[0]["body"]  # Portico's field: OpenAI refuses it
    vectors = list(Chunk.objects.filter(collection__collection_id=cid).values_list("embedding"))
    assert len(vectors) == 72 and all(len(bytes(v)) == 256 * 4 for (v,) in vectors)
    norms = [np.linalg.norm(np.frombuffer(bytes(v), dtype=np.float32)) for (v,) in vectors]
    assert norms == pytest.approx([1.0] * 72, rel=1e-5)
    assert set(Document.objects.values_list("embedding_model", flat=True)) == {"fake-embed"}
    documents = api.get(f"/{cid}/documents").json()["documents"]
    assert [d["dense_retrieval"] for d in documents] == [True, True]
    assert [(d["dense_status"], d["embedded_passages"]) for d in documents] == [
        ("ready", 1),
        ("ready", 71),
    ]

    # Only stop words: BM25 finds nothing, the query's vector finds the passage itself.
    answer = api.post(f"/{cid}/query", json={"query": f"{STOP_TITLE}\n{STOP_TEXT}"})
    assert answer.status_code == HTTPStatus.OK, answer.text
    body = answer.json()
    assert body["dense_retrieval"] is True and "note" not in body
    assert body["context"][0]["document_id"] == stop_doc
    assert body["context"][0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert body["context"][0]["is_direct_hit"] is False
    # (The fake's vectors are noise: what fusion does to a lexical query's order is
    # only worth measuring with a real model.)
    harbour = api.post(f"/{cid}/query", json={"query": "harbour number 42", "top_k": 3}).json()
    assert harbour["dense_retrieval"] is True and len(harbour["context"]) == 3

    # Metered: one embedding event per batch and per query, priced like /v1/embeddings.
    def all_recorded():
        found = records()
        return found if len(found) == 8 else None

    found = wait_for(all_recorded, timeout=20, what="8 usage records")
    embeds = [r for r in found if r.endpoint == "alretrieval.embed"]
    assert len(embeds) == 6 and {r.model for r in embeds} == {"fake-embed"}
    assert all(r.status == "ok" and r.prompt_tokens > 0 for r in embeds)
    for record in embeds:
        assert record.cost_usd == record.prompt_tokens * EMBED_PRICE_PER_1M / 1_000_000
    assert all(r.api_key_id is not None for r in found)  # charged to the caller's key
    upstream_tokens = sum(
        -(-len(text) // 4) for r in calls for text in r["body"]["input"]
    )  # the fake's count
    ingest_tokens = sum(r.prompt_tokens for r in embeds[:4])
    assert ingest_tokens == upstream_tokens
    queries = [r for r in found if r.endpoint == "alretrieval.query"]
    assert [r.cost_usd for r in queries] == [QUERY_PRICE, QUERY_PRICE]
    wallet = Wallet.objects.get(organization__personal_for=funded)
    spent = sum(r.cost_usd for r in found)
    assert wallet.balance_usd == Decimal(10) - spent and wallet.held_usd == 0


def test_a_failing_embedding_upstream_degrades_to_lexical_never_a_5xx(api, fake):
    cid = api.post().json()["collection_id"]
    fake.configure(per_model={"fake-embed": {"fail_status": 503}})
    doc_id = ingest_pages(api, cid, "Tea", ["Green tea grows on hills.", STOP_TEXT])
    document = Document.objects.get(doc_id=doc_id)
    assert document.status == Document.Status.READY and document.dense_status == "failed"
    assert not Chunk.objects.filter(document=document, embedding__isnull=False).exists()
    listed = api.get(f"/{cid}/documents").json()["documents"]
    assert listed[0]["dense_retrieval"] is False
    assert (listed[0]["dense_status"], listed[0]["embedded_passages"]) == ("failed", 0)
    assert "503" in listed[0]["dense_error"]

    answer = api.post(f"/{cid}/query", json={"query": "green tea"})
    assert answer.status_code == HTTPStatus.OK, answer.text
    body = answer.json()
    assert body["dense_retrieval"] is False
    assert "lexically" in body["note"]
    assert body["context"][0]["page_start"] == 1

    def recorded():
        found = records()
        return found if len(found) == 3 else None

    found = wait_for(recorded, timeout=20, what="3 usage records")
    failed = [r for r in found if r.endpoint == "alretrieval.embed"]
    assert [(r.status, r.cost_usd) for r in failed] == [("error", 0), ("error", 0)]
    assert [r.status for r in found if r.endpoint == "alretrieval.query"] == ["ok"]

    # The upstream is back: a re-ingest embeds, and queries fuse again.
    fake.reset()
    doc_id = ingest_pages(api, cid, "Coffee", ["Coffee grows in Yemen."])
    coffee = Document.objects.get(doc_id=doc_id)
    assert (coffee.embedding_model, coffee.dense_status) == ("fake-embed", "ready")
    again = api.post(f"/{cid}/query", json={"query": "coffee"}).json()
    assert again["dense_retrieval"] is True and "note" not in again


def test_a_query_embedding_is_routed_and_metered_by_the_gateway_seam(api, fake, funded):
    """Retrieval embeds through ``gateway.embedding``: the query's embedding is a usage
    record of its own, under the query's request id, charged to the same key, routed to
    a deployment of the model (the gateway's routing, not a call retrieval made itself)."""
    cid = api.post(json={"name": "seam"}).json()["collection_id"]
    ingest_pages(api, cid, "Tea", ["Green tea grows on hills."])

    def passages_recorded():
        return records() or None

    wait_for(passages_recorded, timeout=20, what="the passages' embedding record")
    seen = {r.pk for r in records()}
    fake.reset()
    answer = api.post(f"/{cid}/query", json={"query": "green tea"})
    assert answer.status_code == HTTPStatus.OK, answer.text
    assert answer.json()["dense_retrieval"] is True

    def query_recorded():
        new = [r for r in records() if r.pk not in seen]
        return new if len(new) == 2 else None

    new = wait_for(query_recorded, timeout=20, what="the query's two usage records")
    (query,) = [r for r in new if r.endpoint == "alretrieval.query"]
    (embed,) = [r for r in new if r.endpoint == "alretrieval.embed"]
    assert embed.request_id == f"{query.request_id}_embed"
    assert (embed.source, embed.model, embed.status) == ("alretrieval", "fake-embed", "ok")
    assert (embed.user_id, embed.api_key_id) == (funded.pk, query.api_key_id)
    assert embed.api_key_id is not None
    assert embed.deployment_id is not None and embed.provider  # routed to a deployment
    assert embed.cost_usd == embed.prompt_tokens * EMBED_PRICE_PER_1M / 1_000_000 > 0
    (sent,) = [r["body"] for r in fake.requests() if r["path"] == "/v1/embeddings"]
    assert (sent["input"], sent["encoding_format"]) == (["green tea"], "base64")
