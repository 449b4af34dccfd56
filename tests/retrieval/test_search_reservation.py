# ruff: noqa: F811 - the fixtures are imported to be used here
"""A dense search's query embedding (``<id>_embed``) is paid from the search's own
reservation, like every part of a request (``gateway.metering.record_part``): a wallet
that cannot cover the embedding is refused before anything runs, and under a funds lease
the embedding is counted as spent, so the lease never admits more than the wallet holds.

A real server with dense retrieval on (``fake-embed`` on the fake upstream) and funds
leases on; the embedding model is priced far above the search so a lease that forgot
the embeddings would admit several times the wallet."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from http import HTTPStatus

import httpx
import openai
import pytest

from billing.credits import admin_adjust
from billing.models import Hold, Wallet
from catalog.models import Model
from tests.billing.conftest import assert_ledger_invariants, fund, wallet_of
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
from tests.support.orgs import org_id
from tests.support.processes import PorticoServer, child_env
from usage.drain import drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
QUERY = "harbour ships"  # 13 characters: the fake bills 4 tokens, a hold covers 7
EMBED_PRICE_PER_1M = Decimal("5000")  # $0.02 for the query's 4 tokens: ten searches' price
PAGE = "The harbour shelters ships from the winter storms of the northern sea."


@pytest.fixture(scope="module")
def leasing_process(django_db_setup):
    server = PorticoServer(
        child_env(
            CELERY_TASK_ALWAYS_EAGER="1",
            RETRIEVAL_EMBEDDING_MODEL="fake-embed",
            FUNDS_LEASES="1",
            DEPLOYMENT_FAILURES_BEFORE_COOLDOWN="1000",
        )
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def costly_embed(catalog):
    model = Model.objects.get(public_id="fake-embed")
    model.input_price_per_1m = EMBED_PRICE_PER_1M
    model.save()  # bumps the catalog version before the server first reads this catalog


@pytest.fixture
def store_of(leasing_process, catalog, costly_embed, priced, make_key, settings):
    """A vector store of ``owner`` holding one page, and the owner's key; the wallet is
    then set to exactly ``balance``."""
    settings.RETRIEVAL_EMBEDDING_MODEL = "fake-embed"
    wait_for_test_catalog(leasing_process.url, catalog, make_key)

    def make(owner, balance: Decimal) -> tuple[str, str]:
        secret = make_key(owner=owner, scopes=["alretrieval", "chat"])
        fund(owner, "1")  # the page's embedding
        api = Api(leasing_process, secret)
        cid = api.post(json={"name": "harbours"}).json()["collection_id"]
        ingested = api.post(
            f"/{cid}/documents/ingest", json={"title": "harbour.md", "pages": [PAGE]}
        )
        assert ingested.status_code == HTTPStatus.OK, ingested.text
        api.wait_ready(cid, ingested.json()["id"])
        drain_usage()
        admin_adjust(
            org_id(owner), balance - wallet_of(owner).balance_usd, reason="test", actor=None
        )
        assert wallet_of(owner).balance_usd == balance
        return "vs_" + cid, secret

    return make


def search(url: str, secret: str, vs_id: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/vector_stores/{vs_id}/search",
        json={"query": QUERY},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=60,
    )


def test_a_wallet_that_pays_the_search_but_not_its_embedding_is_refused_first(
    leasing_process, store_of, fake, bob
):
    vs_id, secret = store_of(bob, QUERY_PRICE)
    embedded = len([r for r in fake.requests() if r["path"] == "/v1/embeddings"])
    sdk = openai.OpenAI(api_key=secret, base_url=leasing_process.url + "/v1", max_retries=0)
    with pytest.raises(openai.APIStatusError) as refused:
        sdk.vector_stores.search(vs_id, query=QUERY)
    assert refused.value.status_code == HTTPStatus.PAYMENT_REQUIRED
    assert refused.value.code == "insufficient_balance"
    with pytest.raises(openai.APIStatusError) as refused:
        sdk.responses.create(
            model="free-llm",
            input=QUERY,
            tools=[{"type": "file_search", "vector_store_ids": [vs_id]}],
        )
    assert refused.value.status_code == HTTPStatus.PAYMENT_REQUIRED
    # Nothing ran: no query embedded, nothing charged.
    assert len([r for r in fake.requests() if r["path"] == "/v1/embeddings"]) == embedded
    drain_usage()
    assert wallet_of(bob).balance_usd == QUERY_PRICE and wallet_of(bob).held_usd == 0
    assert not UsageRecord.objects.filter(user=bob, status="ok", endpoint="alretrieval.query")


def test_under_a_funds_lease_searches_never_spend_more_than_the_wallet(
    leasing_process, store_of, bob
):
    balance = Decimal("2")
    vs_id, secret = store_of(bob, balance)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: search(leasing_process.url, secret, vs_id), range(140)))
    codes = [a.status_code for a in answers]
    assert set(codes) <= {HTTPStatus.OK, HTTPStatus.PAYMENT_REQUIRED}, answers[0].text
    assert HTTPStatus.PAYMENT_REQUIRED in codes  # the wallet ran out
    served = {a.headers["x-request-id"] for a in answers if a.status_code == HTTPStatus.OK}
    assert Hold.objects.filter(
        wallet__organization__personal_for=bob, kind=Hold.Kind.LEASE
    ).exists()
    drain_usage()
    wanted = served | {f"{s}_embed" for s in served}
    records = list(UsageRecord.objects.filter(user=bob, request_id__in=wanted))
    searches = {r.request_id for r in records if r.endpoint == "alretrieval.query"}
    embeds = [r for r in records if r.endpoint == "alretrieval.embed"]
    assert searches == served and {r.request_id for r in embeds} == {f"{s}_embed" for s in served}
    assert all(r.cost_usd == QUERY_PRICE for r in records if r.endpoint == "alretrieval.query")
    spent = sum(r.cost_usd for r in records)
    assert spent > balance / 2  # most of the wallet was used...
    wallet = Wallet.objects.get(organization__personal_for=bob)
    assert spent <= balance and wallet.unpaid_usd == 0  # ...and never more than it held
    assert wallet.balance_usd == balance - spent
    assert 0 <= wallet.held_usd <= wallet.balance_usd
    assert_ledger_invariants(bob)
