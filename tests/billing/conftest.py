"""Billing test setup: the gateway's fixtures, usage events, a loopback "Stripe", codes."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
from django.db.models import Sum

from billing.credits import credit
from billing.ledger import ledger_balance
from billing.models import LedgerEntry, RedemptionBatch, Wallet
from billing.redemption import create_redemption_batch

# The gateway's contract fixtures (not its ``client``: here that is Django's test client).
from tests.gateway.conftest import (  # noqa: F401
    catalog,
    client_for,
    fake,
    funded,
    make_key,
    server,
    upstream,
)
from tests.support.orgs import org_id
from tests.support.usage import usage_event as shared_usage_event

WEBHOOK_SECRET = "whsec_test_0123456789abcdef"


def fund(user, amount: str | Decimal) -> None:
    credit(
        org_id(user),
        Decimal(amount),
        kind=LedgerEntry.Kind.ADJUSTMENT,
        idempotency_key=f"test-fund:{uuid.uuid4().hex}",
        description="test funds",
    )


def wallet_of(user) -> Wallet:
    return Wallet.objects.get(organization__personal_for=user)


def usage_event(user, **overrides) -> dict:
    return shared_usage_event(user, **overrides)


def assert_ledger_invariants(user) -> None:
    """The cached balance is the ledger's sum; every charge matches a usage record's cost."""
    from billing.models import Hold
    from usage.models import UsageRecord

    wallet = wallet_of(user)
    assert wallet.balance_usd == ledger_balance(org_id(user))
    open_holds = Hold.objects.filter(wallet=wallet, status=Hold.Status.OPEN)
    assert wallet.held_usd == (open_holds.aggregate(s=Sum("amount_usd"))["s"] or 0)
    charged = LedgerEntry.objects.filter(wallet=wallet, kind=LedgerEntry.Kind.USAGE)
    records = UsageRecord.objects.filter(user=user)
    assert (charged.aggregate(s=Sum("amount_usd"))["s"] or 0) == -(
        records.aggregate(s=Sum("cost_usd"))["s"] or 0
    )
    by_request = {e.request_id: -e.amount_usd for e in charged}
    assert by_request == {r.request_id: r.cost_usd for r in records if r.cost_usd}


def make_batch(amount: str = "10", count: int = 3, **fields) -> RedemptionBatch:
    return create_redemption_batch(
        RedemptionBatch(amount_usd=Decimal(amount), count=count, **fields)
    )


# --- A loopback "Stripe" ------------------------------------------------------------------
class FakeStripe:
    """Answers ``POST /v1/checkout/sessions`` like Stripe and records what it was sent."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_with: tuple[int, dict] | None = None
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                recorder.requests.append(
                    {"path": self.path, "headers": dict(self.headers.items()), "form": form}
                )
                if recorder.fail_with is not None:
                    status, body = recorder.fail_with
                else:
                    session_id = f"cs_test_{uuid.uuid4().hex}"
                    status, body = (
                        200,
                        {
                            "id": session_id,
                            "object": "checkout.session",
                            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
                            "amount_total": int(form["line_items[0][price_data][unit_amount]"]),
                            "currency": form["line_items[0][price_data][currency]"],
                            "metadata": {"user_id": form["metadata[user_id]"]},
                        },
                    )
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def stripe(settings) -> Iterator[FakeStripe]:
    """Stripe configured, its API on loopback."""
    loopback = FakeStripe()
    settings.STRIPE_SECRET_KEY = "sk_test_portico"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = loopback.url
    try:
        yield loopback
    finally:
        loopback.stop()


def checkout_event(user, *, cents: int = 2000, currency: str = "usd", **overrides) -> dict:
    session = {
        "id": f"cs_test_{uuid.uuid4().hex}",
        "object": "checkout.session",
        "amount_total": cents,
        "currency": currency,
        "payment_status": "paid",
        "client_reference_id": str(user.pk),
        "metadata": {"user_id": str(user.pk)},
    }
    session.update(overrides.pop("session", {}))
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": session},
    }
    return {**event, **overrides}
