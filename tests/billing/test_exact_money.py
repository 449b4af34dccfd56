"""Money is exact on every database: a wallet funded for exactly N priced requests (or N
one-page OCR uploads) serves exactly N through the real server, and the next one is a 402.

SQLite used to keep money as REAL (floating point): ``balance >= held + amount`` summed
binary fractions in SQL, and a wallet funded for 28 requests served 27. Run this file
against both databases (``DATABASE_URL`` unset, then set to PostgreSQL).
"""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import httpx
import pytest

from billing.models import Hold
from ground.money import money_value
from tests.billing.conftest import assert_ledger_invariants, fund, wallet_of
from tests.billing.test_gateway_charges import drained_records
from tests.gateway.conftest import add_model
from tests.support.orgs import org_id

pytestmark = pytest.mark.django_db(transaction=True)

# Output tokens only, every one of them used: each request costs exactly its worst case.
MAX_TOKENS = 50
OUTPUT_PRICE_PER_1M = "3"
WORST = Decimal(OUTPUT_PRICE_PER_1M) * MAX_TOKENS / 1_000_000  # $0.00015: no binary fraction
BODY = {
    "model": "exact-llm",
    "messages": [{"role": "user", "content": "Say hello"}],
    "max_tokens": MAX_TOKENS,
}


@pytest.fixture
def exact_model(catalog):
    model = add_model(
        "exact-llm",
        [(catalog["primary"], "fake-llm", 1)],
        price_out=OUTPUT_PRICE_PER_1M,
        context_window=8192,
    )
    # The server reloads its catalog within a second; the first call must find the model.
    return model


def post(server, secret: str) -> httpx.Response:
    return httpx.post(
        server.url + "/v1/chat/completions",
        json=BODY,
        headers={"Authorization": f"Bearer {secret}"},
        timeout=30,
    )


def wait_for_model(server, secret: str) -> None:
    from tests.support.processes import wait_for

    def listed() -> bool:
        response = httpx.get(
            server.url + "/v1/models/exact-llm", headers={"Authorization": f"Bearer {secret}"}
        )
        return response.status_code == HTTPStatus.OK

    wait_for(listed, timeout=10, what="the server to see exact-llm")


@pytest.mark.parametrize("count", [28, 60])
def test_a_wallet_funded_for_exactly_n_requests_serves_exactly_n(
    server, exact_model, make_key, fake, bob, count
):
    fake.configure(completion_tokens=MAX_TOKENS)
    fund(bob, WORST * count)
    secret = make_key(owner=bob)
    wait_for_model(server, secret)

    # One after another, as fast as the server answers: 60 are enough for this process
    # to lease part of the wallet, 28 are not (billing.leases).
    answers = [post(server, secret) for _ in range(count)]
    assert [r.status_code for r in answers] == [HTTPStatus.OK] * count, [
        r.text for r in answers if r.status_code != HTTPStatus.OK
    ]
    refused = post(server, secret)
    assert refused.status_code == HTTPStatus.PAYMENT_REQUIRED, refused.text
    assert refused.json()["error"]["code"] == "insufficient_balance"

    records = drained_records({r.headers["x-request-id"] for r in answers})
    assert {r.cost_usd for r in records} == {WORST}
    drained_records({refused.headers["x-request-id"]})
    wallet = wallet_of(bob)
    assert wallet.balance_usd == 0 and wallet.held_usd == 0
    assert_ledger_invariants(bob)


def test_money_columns_compare_and_sum_exactly_in_sql(bob):
    """The conditional reservation and the aggregates run in SQL: no binary rounding."""
    from django.db.models import Sum

    from billing.errors import BillingError
    from billing.holds import reserve_funds

    tenth = Decimal("0.1")
    fund(bob, Decimal("0.3"))
    for index in range(3):  # 0.1 + 0.1 + 0.1 == 0.3 only in decimal arithmetic
        reserve_funds(org_id(bob), f"req_tenth_{index}", tenth)
    with pytest.raises(BillingError):
        reserve_funds(org_id(bob), "req_tenth_3", Decimal("0.0000000001"))
    held = Hold.objects.filter(wallet__organization__personal_for=bob).aggregate(
        s=Sum("amount_usd")
    )["s"]
    assert held == Decimal("0.3") == wallet_of(bob).held_usd


def test_a_bare_decimal_in_money_sql_is_refused_on_sqlite(bob):
    """The suite's tripwire (SQLITE_REFUSE_DECIMAL_PARAMS): an amount that skipped the
    field's integer units would be added as a float; on SQLite it is an error instead."""
    from django.db import DatabaseError, connection, transaction
    from django.db.models import F

    from billing.models import Wallet

    fund(bob, "1")
    wallet = Wallet.objects.filter(organization__personal_for=bob)
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL binds decimals as numerics")
    with pytest.raises((DatabaseError, TypeError)), transaction.atomic():
        wallet.update(held_usd=F("held_usd") + Decimal("0.1"))
    wallet.update(held_usd=F("held_usd") + money_value(Decimal("0.1")))
    assert wallet_of(bob).held_usd == Decimal("0.1")
