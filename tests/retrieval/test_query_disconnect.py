# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""A query whose client goes away stops: on a real server, the query's vocabulary read
waits on a lock the test holds (PostgreSQL's LOCK TABLE; SQLite never makes a reader
wait), the client gives up, and once the lock is gone the query stops at its next
checkpoint instead of running on. Nothing is charged for it."""

from __future__ import annotations

from http import HTTPStatus

import httpx
import pytest
from django.db import connection, transaction

from billing.models import Wallet
from tests.gateway.conftest import catalog, fake, funded, make_key, server, upstream  # noqa: F401
from tests.retrieval.test_api import Api, api, priced  # noqa: F401 - fixtures
from tests.support.processes import wait_for
from usage.drain import drain_usage
from usage.models import UsageRecord

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs a reader that waits on a lock"
    ),
]


def test_a_query_whose_client_went_away_stops_at_its_next_checkpoint(api, server, funded):
    cid = api.post().json()["collection_id"]
    response = api.post(
        f"/{cid}/documents/ingest", json={"title": "Notes", "pages": ["Gandhi led the march."]}
    )
    assert response.status_code == HTTPStatus.OK, response.text
    before = Wallet.objects.get(organization__personal_for=funded).balance_usd
    with transaction.atomic():
        with connection.cursor() as cursor:  # the spelling lookup's table, until commit
            cursor.execute("LOCK TABLE retrieval_term IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(httpx.TimeoutException):  # "Ghandi" is absent: it is looked up
            httpx.post(
                f"{api.base}/{cid}/query",
                headers=api.headers,
                json={"query": "Ghandi march"},
                timeout=3,
            )
        wait_for(
            lambda: server.saw("A retrieval query was cancelled: its client went away"),
            timeout=30,
            what="the server to notice the client left",
        )
    wait_for(
        lambda: server.saw("A cancelled retrieval query stopped at a checkpoint"),
        timeout=30,
        what="the query to stop once the lock was gone",
    )
    drain_usage()
    record = UsageRecord.objects.get(endpoint="alretrieval.query", user=funded)
    assert (record.status, record.cost_usd) == ("cancelled", 0)
    assert Wallet.objects.get(organization__personal_for=funded).balance_usd == before
    assert Wallet.objects.get(organization__personal_for=funded).held_usd == 0
