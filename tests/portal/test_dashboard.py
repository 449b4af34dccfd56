"""The dashboard: balance, spend from rollups, the 30-day chart, top models, quick start."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.credits import credit
from catalog.models import Deployment, Model, Provider
from tests.gateway.test_usage_page import event
from tests.support.html import money_span
from tests.support.orgs import org_id
from usage.drain import discard_pending_events, record_usage_events
from usage.events import emit_sync
from usage.queries import dashboard_summary

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_pending_events():
    discard_pending_events()
    yield
    discard_pending_events()


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def chat_models(db):
    local = Provider.objects.create(name="local", kind="local")
    for public_id in ("portico/test-chat", "house/llm"):
        model = Model.objects.create(public_id=public_id, type="llm")
        Deployment.objects.create(model=model, provider=local, upstream_model=public_id)


def chart_json(text: str, chart_id: str) -> dict:
    match = re.search(rf'id="{chart_id}-data"[^>]*>(.*?)</script>', text, re.S)
    return json.loads(match.group(1))


def test_it_asks_visitors_to_sign_in(client):
    assert client.get(reverse("dashboard")).status_code == HTTPStatus.FOUND


def test_a_new_user_sees_a_zero_balance_and_no_spend(signed_in):
    response = signed_in.get(reverse("dashboard"))

    assert response.status_code == HTTPStatus.OK
    text = response.content.decode()
    assert f'data-testid="balance">{money_span("$0.00")}<' in text
    assert f'data-testid="spend-today">{money_span("$0.00")}<' in text
    assert "No requests yet this month" in text


def test_it_shows_the_balance_and_todays_spend(signed_in, alice):
    credit(org_id(alice), Decimal("10"), kind="adjustment", idempotency_key="dash:1")
    record_usage_events(
        [
            event(alice, cost_usd="0.0012"),
            event(alice, cost_usd="0.5"),
            event(alice, cost_usd="7", at=timezone.now() - timedelta(days=40)),
        ]
    )

    text = signed_in.get(reverse("dashboard")).content.decode()

    # 10 - 0.0012 - 0.5 - 7, settled: in cents, exact on hover
    assert f'data-testid="balance">{money_span("$2.50", "$2.4988")}<' in text
    assert f'data-testid="spend-today">{money_span("$0.50", "$0.5012")}<' in text
    assert "2 requests" in text


def test_the_spend_chart_covers_thirty_days_from_rollups(signed_in, alice):
    now = timezone.now()
    record_usage_events(
        [
            event(alice, cost_usd="1", at=now),
            event(alice, cost_usd="2", at=now - timedelta(days=29)),
            event(alice, cost_usd="4", at=now - timedelta(days=30)),  # a day too old
        ]
    )

    chart = chart_json(signed_in.get(reverse("dashboard")).content.decode(), "dashboard-spend")

    assert len(chart["labels"]) == 30
    assert chart["series"][0]["values"][0] == "2"
    assert chart["series"][0]["values"][-1] == "1"
    assert "total $3.00" in chart["summary"]


def test_it_never_reads_the_usage_records(signed_in, alice):
    record_usage_events([event(alice, cost_usd="1")])
    with CaptureQueriesContext(connection) as queries:
        signed_in.get(reverse("dashboard"))
    assert not [q["sql"] for q in queries if "gateway_usagerecord" in q["sql"]]


def test_it_shows_requests_that_just_finished(signed_in, alice):
    emit_sync(event(alice, cost_usd="0.25"))
    text = signed_in.get(reverse("dashboard")).content.decode()
    assert f'data-testid="spend-today">{money_span("$0.25")}<' in text


def test_the_month_starts_on_the_first(alice):
    now = datetime(2025, 3, 5, 12, tzinfo=UTC)
    record_usage_events(
        [
            event(alice, model="a", cost_usd="1", at=now),
            event(alice, model="b", cost_usd="3", at=now - timedelta(days=3)),  # 2 March
            event(alice, model="b", cost_usd="0.5", at=now - timedelta(days=4)),  # 1 March
            event(alice, model="c", cost_usd="9", at=now - timedelta(days=6)),  # February
        ]
    )

    summary = dashboard_summary(alice.pk, now=now)

    assert summary.today.cost == Decimal("1")
    assert summary.month.cost == Decimal("4.5")
    assert summary.month.requests == 3
    assert [model for model, _ in summary.top_models] == ["b", "a"]
    assert summary.thirty_day_cost == Decimal("13.5")


def test_the_quick_start_uses_this_server_and_a_model_i_may_use(signed_in, alice, chat_models):
    alice.allowed_models = ["house/llm"]
    alice.save()

    text = signed_in.get(reverse("dashboard")).content.decode()

    assert "http://testserver/v1" in text
    assert 'model="house/llm"' in text
    assert "portico/test-chat" not in text
    for language in ("curl", "Python", "JavaScript"):
        assert f"<summary>{language}</summary>" in text


def test_the_quick_start_prefers_my_most_used_model(signed_in, alice, chat_models):
    record_usage_events([event(alice, model="house/llm", cost_usd="1")])
    text = signed_in.get(reverse("dashboard")).content.decode()
    assert 'model="house/llm"' in text


def test_top_models_link_to_their_usage(signed_in, alice):
    record_usage_events(
        [event(alice, model="cheap", cost_usd="0.01"), event(alice, model="dear", cost_usd="1")]
    )
    text = signed_in.get(reverse("dashboard")).content.decode()
    assert text.index("?range=30d&amp;model=dear") < text.index("?range=30d&amp;model=cheap")
