"""Key cards show what each key has spent: today, this month and in total, against its caps."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.test import Client
from django.utils import timezone

from accounts import key_spend as registry
from accounts.keys import issue_key
from ground.money import format_usd
from tests.support.html import visible_text
from tests.support.usage import usage_event
from usage.drain import discard_pending_events, record_usage_events

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _no_pending_events():
    discard_pending_events()
    yield
    discard_pending_events()


def spend(user, key, cost: str, at) -> None:
    record_usage_events(
        [usage_event(user, api_key_id=key.pk, cost_usd=Decimal(cost), created_at=at.timestamp())]
    )


def spend_lines(html: str, key) -> dict[str, str]:
    """``{"Today": "$0.25 of $1.00 cap", ...}`` from the key's card, tags stripped."""
    card = re.search(rf'<article[^>]*id="key-{key.pk}".*?</article>', html, re.S).group(0)
    lines = re.findall(r'<li class="key-spend-line[^"]*">(.*?)</li>', card, re.S)
    text = [visible_text(re.sub(r"<[^>]+>", " ", line)) for line in lines]
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in text}


@pytest.fixture
def periods():
    """Three moments: now, yesterday's last second, and last month's last hour."""
    now = timezone.now()
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    return {
        "now": now,
        "yesterday": day - timedelta(seconds=1),
        "last_month": month - timedelta(hours=1),
        "month_start": month,
    }


def test_each_card_shows_its_key_s_spend_against_its_caps(db, alice, bob, periods):
    capped = issue_key(alice, "capped", daily_budget=Decimal("1"), total_budget=Decimal("10")).key
    free = issue_key(alice, "uncapped").key
    idle = issue_key(alice, "idle").key
    bobs = issue_key(bob, "bob-key").key
    spend(alice, capped, "0.25", periods["now"])
    spend(alice, capped, "0.5", periods["yesterday"])
    spend(alice, capped, "2", periods["last_month"])
    spend(alice, free, "0.0000125", periods["now"])
    spend(bob, bobs, "7", periods["now"])
    client = Client()
    client.force_login(alice)

    html = client.get("/keys/").content.decode()

    yesterday_this_month = periods["yesterday"] >= periods["month_start"]
    month = Decimal("0.75") if yesterday_this_month else Decimal("0.25")
    assert spend_lines(html, capped) == {
        "Today": "$0.25 of $1.00 cap",
        "This": f"month {format_usd(month)}",
        "Total": "$2.75 of $10.00 cap",
    }
    assert spend_lines(html, free) == {
        "Today": "<$0.01",  # a sliver: never shown as nothing
        "This": "month <$0.01",
        "Total": "<$0.01",
    }
    assert spend_lines(html, idle) == {"Today": "$0.00", "This": "month $0.00", "Total": "$0.00"}
    assert "$7.00" not in html, "bob's spend must not reach alice's page"
    # Caps get a meter (no inline style under the CSP): the daily one, a quarter full.
    assert re.search(r'<meter min="0" max="1" value="0.25" high="0.8"', html)


def test_a_reached_cap_is_said_in_words(db, alice, periods):
    key = issue_key(alice, "busy", daily_budget=Decimal("0.5")).key
    spend(alice, key, "0.6", periods["now"])
    client = Client()
    client.force_login(alice)

    html = client.get("/keys/").content.decode()

    assert spend_lines(html, key)["Today"] == "$0.60 of $0.50 cap cap reached"
    assert re.search(r'<meter min="0" max="0.5" value="0.5"', html), "a full meter, not past it"


def test_the_htmx_card_fragment_shows_the_spend_too(db, alice, periods):
    key = issue_key(alice, "ci", monthly_budget=Decimal("20")).key
    spend(alice, key, "1.5", periods["now"])
    client = Client()
    client.force_login(alice)

    card = client.get(f"/keys/{key.pk}/", **HTMX)
    edited = client.post(
        f"/keys/{key.pk}/edit/",
        {"name": "ci-2", "scopes": ["chat"], "monthly_budget": "20"},
        **HTMX,
    )
    revoked = client.post(f"/keys/{key.pk}/revoke/", **HTMX)

    for response in (card, edited, revoked):
        assert response.status_code == HTTPStatus.OK
        html = response.content.decode()
        assert "<html" not in html, "a fragment, not the page"
        assert spend_lines(html, key)["This"] == "month $1.50 of $20.00 cap"


def test_without_a_provider_the_page_shows_no_figures(db, alice, monkeypatch):
    issue_key(alice, "ci")
    monkeypatch.setattr(registry, "_provider", None)
    client = Client()
    client.force_login(alice)

    response = client.get("/keys/")

    assert response.status_code == HTTPStatus.OK
    assert 'data-testid="key-spend"' not in response.content.decode()
    assert registry.key_spend([1]) is None


def test_the_spend_of_every_key_on_the_page_is_one_query(db, alice, django_assert_max_num_queries):
    keys = [issue_key(alice, f"k{n}").key for n in range(5)]

    with django_assert_max_num_queries(1):
        figures = registry.key_spend(key.pk for key in keys)

    assert set(figures) == {key.pk for key in keys}
