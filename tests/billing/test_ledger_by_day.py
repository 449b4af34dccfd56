"""The wallet's ledger shows usage as one summed line per UTC day; the ledger itself
keeps one exact row per request."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.ledger_page import UsageDay, ledger_page
from billing.models import LedgerEntry
from billing.settlement import settle_usage_events
from tests.billing.conftest import fund
from tests.support.html import money_span
from tests.support.orgs import org_id
from tests.support.usage import usage_event

pytestmark = pytest.mark.django_db


def charge(user, cost: str, at: datetime, count: int = 1) -> None:
    events = [usage_event(user, cost_usd=Decimal(cost)) for _ in range(count)]
    settle_usage_events(events)
    ids = [f"usage:{e.request_id}" for e in events]
    # Settlement stamps "now"; the test places the charges on the day it means.
    LedgerEntry.objects.filter(idempotency_key__in=ids).update(created_at=at)


def day(d: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, d, hour, tzinfo=UTC)


def test_usage_is_summed_per_day_between_credits(alice):
    fund(alice, "10")
    LedgerEntry.objects.update(created_at=day(27))
    charge(alice, "0.01", day(27, 9), count=3)
    charge(alice, "0.02", day(28, 1), count=2)
    charge(alice, "0.3", day(28, 23))
    fund(alice, "5")

    lines = ledger_page(org_id(alice)).entries

    assert [type(line).__name__ for line in lines] == [
        "LedgerEntry",
        "UsageDay",
        "UsageDay",
        "LedgerEntry",
    ]
    top_up, nov28, nov27, first = lines
    assert (nov28.day.isoformat(), nov28.requests, nov28.amount_usd) == (
        "2026-11-28",
        3,
        Decimal("-0.34"),
    )
    assert nov28.description == "Usage on 2026-11-28 — 3 requests"
    assert nov28.balance_after_usd == Decimal("9.63")
    assert (nov27.requests, nov27.amount_usd, nov27.balance_after_usd) == (
        3,
        Decimal("-0.03"),
        Decimal("9.97"),
    )
    assert top_up.amount_usd == Decimal("5") and first.amount_usd == Decimal("10")
    # Storage is untouched: one row per request.
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.USAGE).count() == 6


def test_a_day_is_never_split_across_pages(alice):
    for n in range(3):
        fund(alice, f"{n + 1}")
    charge(alice, "0.01", day(28), count=4)
    for n in range(3):
        fund(alice, f"{n + 4}")

    first = ledger_page(org_id(alice), size=4)
    assert [getattr(line, "requests", 0) for line in first.entries] == [0, 0, 0, 4]
    second = ledger_page(org_id(alice), before=first.older, size=4)
    assert [line.amount_usd for line in second.entries] == [Decimal(3), Decimal(2), Decimal(1)]
    assert second.older is None
    back = ledger_page(org_id(alice), after=second.newer, size=4)
    assert [line.pk for line in back.entries] == [line.pk for line in first.entries]
    assert isinstance(back.entries[-1], UsageDay)


def test_the_wallet_page_shows_one_line_per_day_linked_to_its_usage(client, alice):
    fund(alice, "10")
    charge(alice, "0.0001", day(28), count=1234)
    client.force_login(alice)

    page = re.sub(r"\s+", " ", client.get("/wallet/").content.decode())

    assert "Usage on 2026-11-28 — 1,234 requests" in page
    assert money_span("-$0.12", "-$0.1234") in page  # a day's total: cents, exact on hover
    assert page.count('data-testid="usage-day"') == 1
    assert "/usage/?range=custom&amp;start=2026-11-28&amp;end=2026-11-28" in page
