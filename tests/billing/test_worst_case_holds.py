"""Holds that are really worst case, and no silent negative balance when an upstream
still bills more than the hold."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from http import HTTPStatus

import httpx
import pytest

from billing.credits import credit
from billing.models import LedgerEntry
from ground import tokens
from ground.tokens import worst_case_prompt_tokens
from tests.billing.conftest import assert_ledger_invariants, fund, wallet_of
from tests.billing.test_gateway_charges import drained_records
from tests.support.orgs import org_id

pytestmark = pytest.mark.django_db(transaction=True)
AUDIO = {"type": "input_audio", "input_audio": {"data": "UklGR" * 20, "format": "wav"}}
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}}


def chat(parts: list, **extra) -> dict:
    return {"model": "fake-llm", "messages": [{"role": "user", "content": parts}], **extra}


def test_every_billed_input_counts_toward_the_worst_case():
    text_only = worst_case_prompt_tokens(chat([{"type": "text", "text": "hi"}]), 100_000)
    with_audio = worst_case_prompt_tokens(chat([AUDIO] * 100), 1_000_000)
    with_image = worst_case_prompt_tokens(chat([IMAGE]), 100_000)
    with_tools = worst_case_prompt_tokens(
        chat(
            ["hi"],
            tools=[{"type": "function", "function": {"name": "f", "parameters": {"x": "y" * 400}}}],
        ),
        100_000,
    )
    assert with_audio >= 100 * tokens.AUDIO_PART_MIN_TOKENS
    assert with_image >= tokens.IMAGE_PART_TOKENS
    assert with_tools > text_only + 200
    # A file cannot be bounded before the upstream reads it: the context window is held.
    assert (
        worst_case_prompt_tokens(chat([{"type": "file", "file": {"file_id": "f"}}]), 8192) == 8192
    )
    assert worst_case_prompt_tokens(chat(["x" * 10_000_000]), 8192) == 8192


def test_audio_parts_cannot_overdraw_a_small_wallet(server, make_key, bob):
    fund(bob, Decimal("0.00039"))
    headers = {"Authorization": f"Bearer {make_key(owner=bob)}"}
    body = chat([AUDIO] * 100, max_tokens=5)

    def call(_: int) -> httpx.Response:
        return httpx.post(
            server.url + "/v1/chat/completions", json=body, headers=headers, timeout=60
        )

    with ThreadPoolExecutor(max_workers=40) as pool:
        responses = list(pool.map(call, range(40)))

    served = {r.headers["x-request-id"] for r in responses if r.status_code == HTTPStatus.OK}
    assert all(r.status_code in (HTTPStatus.OK, HTTPStatus.PAYMENT_REQUIRED) for r in responses)
    if served:
        drained_records(served)
    wallet = wallet_of(bob)
    assert wallet.balance_usd >= 0 and wallet.unpaid_usd == 0
    assert_ledger_invariants(bob)


def test_an_upstream_billing_past_the_hold_is_recorded_unpaid_and_pauses_the_owner(
    server, make_key, fake, bob
):
    fund(bob, Decimal("0.001"))
    fake.configure(extra_prompt_tokens=10_000)  # bills 0.01 USD of unseen input: 10x the wallet
    headers = {"Authorization": f"Bearer {make_key(owner=bob)}"}
    url = server.url + "/v1/chat/completions"
    first = httpx.post(url, json=chat(["hi"], max_tokens=1), headers=headers, timeout=60)
    assert first.status_code == HTTPStatus.OK
    [record] = drained_records({first.headers["x-request-id"]})

    wallet = wallet_of(bob)
    assert wallet.balance_usd == 0, "never a negative balance"
    assert wallet.unpaid_usd == record.cost_usd - Decimal("0.001")
    paused = httpx.post(url, json=chat(["hi"], max_tokens=1), headers=headers, timeout=60)
    assert paused.status_code == HTTPStatus.PAYMENT_REQUIRED
    assert paused.json()["error"]["code"] == "unpaid_usage"

    credit(org_id(bob), Decimal("1"), kind=LedgerEntry.Kind.ADJUSTMENT, idempotency_key="pay-up")
    wallet = wallet_of(bob)
    assert wallet.unpaid_usd == 0
    assert wallet.balance_usd == Decimal("1.001") - record.cost_usd
    charged = -sum(
        LedgerEntry.objects.filter(wallet=wallet, kind="usage").values_list("amount_usd", flat=True)
    )
    assert charged == record.cost_usd, "the ledger ends up charging the whole usage"
    fake.configure(extra_prompt_tokens=0)
    again = httpx.post(url, json=chat(["hi"], max_tokens=20), headers=headers, timeout=60)
    assert again.status_code == HTTPStatus.OK
