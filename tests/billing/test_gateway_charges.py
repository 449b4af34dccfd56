"""Charges through the real server: funds for 10 requests serve at most 10, each charged once."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from http import HTTPStatus

import httpx
import pytest

from billing.models import Hold, LedgerEntry
from billing.pricing import price
from catalog.models import Model
from gateway.validation import max_output_tokens
from ground.tokens import estimate_messages_tokens, worst_case_prompt_tokens
from tests.billing.conftest import assert_ledger_invariants, fund, wallet_of
from tests.support.processes import wait_for
from usage.drain import drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
MESSAGES = [{"role": "user", "content": "Say hello"}]
MAX_TOKENS = 50


def worst_case_cost(body: dict) -> Decimal:
    """What the gateway reserves for ``body`` on fake-llm (1 USD in, 2 USD out per 1M)."""
    model = Model.objects.get(public_id="fake-llm")
    prompt = estimate_messages_tokens(body["messages"])
    worst = worst_case_prompt_tokens(body, model.context_window)
    return price(model, worst, max_output_tokens(body, model, prompt))


def drained_records(request_ids: set[str]) -> list[UsageRecord]:
    """Drain until the records of ``request_ids`` are in (the server wrote their events)."""

    def drained() -> list[UsageRecord] | None:
        drain_usage()
        records = list(UsageRecord.objects.filter(request_id__in=request_ids))
        return records if len(records) == len(request_ids) else None

    return wait_for(drained, timeout=20, what=f"{len(request_ids)} usage records")


def test_a_hundred_concurrent_requests_against_funds_for_ten_are_served_ten(
    server, make_key, fake, bob
):
    body = {"model": "fake-llm", "messages": MESSAGES, "max_tokens": MAX_TOKENS}
    worst = worst_case_cost(body)
    fund(bob, worst * 10 + worst / 2)
    headers = {"Authorization": f"Bearer {make_key(owner=bob)}"}

    def call(_: int) -> httpx.Response:
        return httpx.post(
            server.url + "/v1/chat/completions", json=body, headers=headers, timeout=60
        )

    with ThreadPoolExecutor(max_workers=100) as pool:
        responses = list(pool.map(call, range(100)))

    # Holds stay open until the drain settles them, so exactly ten fit.
    assert Counter(r.status_code for r in responses) == {
        HTTPStatus.OK: 10,
        HTTPStatus.PAYMENT_REQUIRED: 90,
    }
    for refused in (r for r in responses if r.status_code == HTTPStatus.PAYMENT_REQUIRED):
        assert refused.json()["error"]["code"] == "insufficient_balance"
        assert refused.json()["error"]["type"] == "insufficient_quota"
    assert wallet_of(bob).held_usd == worst * 10

    served = {r.headers["x-request-id"] for r in responses if r.status_code == HTTPStatus.OK}
    records = drained_records(served)

    assert {r.status for r in records} == {"ok"} and all(r.cost_usd > 0 for r in records)
    wallet = wallet_of(bob)
    assert wallet.balance_usd >= 0 and wallet.held_usd == 0
    assert Hold.objects.filter(wallet=wallet, status=Hold.Status.SETTLED).count() == 10
    assert LedgerEntry.objects.filter(wallet=wallet, kind="usage").count() == 10
    assert_ledger_invariants(bob)


def test_a_stream_cut_off_by_the_client_is_charged_once_for_what_was_produced(
    server, make_key, fake, bob
):
    fund(bob, "1")
    fake.configure(token_interval_ms=40, completion_tokens=200)
    body = {"model": "fake-llm", "messages": MESSAGES, "stream": True}
    received = 0
    with httpx.stream(
        "POST",
        server.url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {make_key(owner=bob)}"},
        timeout=20,
    ) as response:
        request_id = response.headers["x-request-id"]
        for line in response.iter_lines():
            if '"content":"' in line and '"content":""' not in line:
                received += 1
            if received == 5:
                break

    [record] = drained_records({request_id})
    drain_usage()  # a second drain finds nothing new to charge

    assert record.request_id == request_id and record.status == "cancelled"
    assert received <= record.completion_tokens < 200 and record.cost_usd > 0
    [charge] = LedgerEntry.objects.filter(kind="usage", request_id=request_id)
    assert charge.amount_usd == -record.cost_usd
    assert Hold.objects.get(request_id=request_id).status == Hold.Status.SETTLED
    assert wallet_of(bob).balance_usd == Decimal("1") - record.cost_usd
    assert_ledger_invariants(bob)
