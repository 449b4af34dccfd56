# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""A search that finds nothing is free: recorded at $0, nothing taken from the wallet."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import httpx
import pytest

from billing.models import Wallet
from retrieval import collections, ingest
from tests.gateway.conftest import add_model, catalog, fake, funded, make_key, server, upstream  # noqa: F401 - fixtures
from usage.drain import drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
PRICE = Decimal("0.002")


def test_a_search_that_finds_nothing_is_recorded_and_free(server, make_key, funded, catalog):
    add_model(
        "portico/alretrieval", [(catalog["local"], "x", 1)], type="retrieval", unit_price=PRICE
    )
    collection = collections.create_collection(funded, "c")
    cid = collection.collection_id
    ingest.ingest_pages(funded, cid, "Water", None, ["Desalination plants along the coast."])
    secret = make_key(scopes=["alretrieval"])

    def ask(question: str) -> httpx.Response:
        return httpx.post(
            f"{server.url}/v1/alRetrieval/collections/{cid}/query",
            json={"query": question},
            headers={"Authorization": f"Bearer {secret}"},
            timeout=30,
        )

    empty, found = ask("zzyzx quargle"), ask("desalination")
    assert empty.status_code == found.status_code == HTTPStatus.OK
    assert empty.json()["context"] == [] and found.json()["context"]
    drain_usage()
    costs = {
        r.request_id: r.cost_usd
        for r in UsageRecord.objects.filter(model="portico/alretrieval", status="ok")
    }
    assert costs == {empty.headers["x-request-id"]: 0, found.headers["x-request-id"]: PRICE}
    wallet = Wallet.objects.get(organization__personal_for=funded)
    assert (wallet.balance_usd, wallet.held_usd) == (Decimal(10) - PRICE, 0)
