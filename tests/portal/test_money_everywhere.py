"""One amount, one look: every page, the admin and the CSV print money the same way
(``portal.lib.money.format_usd``)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.flows import issue_key
from billing.flows import credit
from catalog.models import Deployment, Model, Provider
from portal.lib.money import format_usd
from tests.support.usage import usage_event
from usage.drain import discard_pending_events, record_usage_events

AMOUNT = Decimal("1250.5")
SHOWN = "$1,250.50"


@pytest.fixture
def world(db, client, alice, admin_user):
    discard_pending_events()
    local = Provider.objects.create(name="local", kind="local")
    model = Model.objects.create(
        public_id="house/pricey", type="llm", input_price_per_1m=AMOUNT, output_price_per_1m=1
    )
    Deployment.objects.create(model=model, provider=local, upstream_model="pricey")
    credit(alice.pk, AMOUNT * 3, kind="adjustment", idempotency_key="money:fund")
    key = issue_key(alice, "budgeted", daily_budget=AMOUNT).key
    record_usage_events(
        [usage_event(alice, model="house/pricey", cost_usd=AMOUNT, api_key_id=key.pk)]
    )
    client.force_login(alice)
    yield client
    discard_pending_events()


@pytest.mark.parametrize(
    "page",
    ["dashboard", "wallet", "usage", "keys", "models"],
)
def test_the_amount_reads_the_same_on_every_page(world, page):
    text = world.get(reverse(page)).content.decode()
    assert SHOWN in text, f"{page} does not show {SHOWN}"


def test_the_model_page_and_the_request_page_agree(world, alice):
    from usage.models import UsageRecord

    record = UsageRecord.objects.get(user=alice)
    assert SHOWN in world.get(reverse("usage_detail", args=[record.request_id])).content.decode()
    assert SHOWN in world.get("/models/house/pricey/").content.decode()


def test_the_csv_export_prints_it_the_same_way(world):
    response = world.get(reverse("usage_export"), {"range": "today"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["cost_usd"] for row in rows] == [SHOWN]


def test_the_admin_prints_it_the_same_way(client, admin_user, alice, world):
    client.force_login(admin_user)
    assert SHOWN in client.get("/admin/usage/usagerecord/").content.decode()
    assert format_usd(AMOUNT * 2) in client.get("/admin/billing/wallet/").content.decode()


def test_the_rule_is_cents_for_round_amounts_and_exact_digits_below():
    assert [format_usd(Decimal(v)) for v in ("0", "5", "12.5", "1250", "-3.1")] == [
        "$0.00",
        "$5.00",
        "$12.50",
        "$1,250.00",
        "-$3.10",
    ]
    assert format_usd(Decimal("0.0000123")) == "$0.0000123"
    assert format_usd(Decimal("1234.56789")) == "$1,234.56789"
    assert format_usd(Decimal("2.5"), signed=True) == "+$2.50"
    assert format_usd(None) == format_usd("") == ""
    with pytest.raises(ValueError):
        format_usd(0.1)  # floats never reach money
