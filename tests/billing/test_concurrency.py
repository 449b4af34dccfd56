"""No race lets anyone spend money they do not have: 100 reservations against funds for 10."""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from billing.errors import BillingError
from billing.holds import reserve_funds
from billing.models import Hold, Wallet
from tests.billing.conftest import fund, wallet_of
from tests.support.orgs import org_id

AMOUNT = Decimal("0.37")
ATTEMPTS = 100


@pytest.mark.django_db(transaction=True)
def test_a_hundred_concurrent_reservations_against_funds_for_ten_take_exactly_ten(alice):
    # Room for 10 holds and a bit, never 11: the remainder (0.2) is below one amount.
    fund(alice, AMOUNT * 10 + Decimal("0.2"))
    wallet_pk = wallet_of(alice).pk
    start = threading.Barrier(ATTEMPTS)
    outcomes: list[str] = []
    lowest_available: list[Decimal] = []
    lock = threading.Lock()

    def attempt(index: int) -> None:
        try:
            start.wait(timeout=30)
            try:
                reserve_funds(org_id(alice), f"req_race_{index}", AMOUNT)
                outcome = "held"
            except BillingError as exc:
                outcome = exc.code
            wallet = Wallet.objects.get(pk=wallet_pk)
            with lock:
                outcomes.append(outcome)
                lowest_available.append(wallet.available_usd)
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert Counter(outcomes) == {"held": 10, "insufficient_balance": 90}
    assert Hold.objects.filter(status=Hold.Status.OPEN).count() == 10
    wallet = wallet_of(alice)
    assert wallet.held_usd == AMOUNT * 10
    assert wallet.available_usd == Decimal("0.2")
    assert min(lowest_available) >= 0
