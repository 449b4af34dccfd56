"""One display rule in two forms, everywhere (``ground.money``): balances, totals and
budgets in cents with the exact amount in the title; one request's cost with significant
digits; plain decimal numbers in CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.keys import issue_key
from billing.credits import credit
from catalog.models import Deployment, Model, Provider
from ground.money import cost_html, exact_usd, format_cost, format_usd, plain, usd_html
from tests.support.orgs import org_id
from tests.support.usage import usage_event
from usage.drain import discard_pending_events, record_usage_events

PRICE = Decimal("1250.5")  # per 1M input tokens: a unit price, shown as a cost
FUNDS = Decimal("1250.6")
COST = Decimal("0.0935127")  # one request
BALANCE = FUNDS - COST  # 1250.5064873
BUDGET = Decimal("2.5")


def span(shown: str, exact: str) -> str:
    return f'<span class="money" title="{exact}">{shown}</span>'


BALANCE_SHOWN = span("$1,250.51", "$1,250.5064873")
TOTAL_SHOWN = span("$0.09", "$0.0935127")
COST_SHOWN = span("$0.0935", "$0.0935127")
PRICE_SHOWN = span("$1,250.50", "$1,250.50")
BUDGET_SHOWN = span("$2.50", "$2.50")


@pytest.fixture
def world(db, client, alice):
    discard_pending_events()
    local = Provider.objects.create(name="local", kind="local")
    model = Model.objects.create(
        public_id="house/pricey", type="llm", input_price_per_1m=PRICE, output_price_per_1m=1
    )
    Deployment.objects.create(model=model, provider=local, upstream_model="pricey")
    credit(org_id(alice), FUNDS, kind="adjustment", idempotency_key="money:fund")
    key = issue_key(alice, "budgeted", daily_budget=BUDGET).key
    record_usage_events(
        [usage_event(alice, model="house/pricey", cost_usd=COST, api_key_id=key.pk)]
    )
    client.force_login(alice)
    yield client
    discard_pending_events()


@pytest.mark.parametrize(
    ("page", "shown"),
    [
        ("dashboard", [BALANCE_SHOWN, TOTAL_SHOWN]),
        ("wallet", [BALANCE_SHOWN]),
        ("usage", [TOTAL_SHOWN, COST_SHOWN]),
        ("keys", [TOTAL_SHOWN, BUDGET_SHOWN]),
        ("models", [PRICE_SHOWN]),
    ],
)
def test_each_page_shows_totals_in_cents_and_a_request_with_its_digits(world, page, shown):
    text = world.get(reverse(page)).content.decode()
    for amount in shown:
        assert amount in text, f"{page} does not show {amount}"
    assert "$0.0935127<" not in text, f"{page} shows an amount with every digit"


def test_the_request_page_and_the_model_page_use_the_cost_form(world, alice):
    from usage.models import UsageRecord

    record = UsageRecord.objects.get(user=alice)
    detail = world.get(reverse("usage_detail", args=[record.request_id])).content.decode()
    assert COST_SHOWN in detail
    assert PRICE_SHOWN in world.get("/models/house/pricey/").content.decode()


def test_the_csv_holds_plain_numbers_a_spreadsheet_can_sum(world):
    response = world.get(reverse("usage_export"), {"range": "today"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["cost_usd"] for row in rows] == ["0.0935127"]
    assert sum(Decimal(row["cost_usd"]) for row in rows) == COST


def test_the_admin_uses_the_same_two_forms(client, admin_user, alice, world):
    client.force_login(admin_user)
    assert COST_SHOWN in client.get("/admin/usage/usagerecord/").content.decode()
    assert BALANCE_SHOWN in client.get("/admin/billing/wallet/").content.decode()
    # Amounts never wrap in the admin either: its pages load the rule's stylesheet.
    assert "css/admin" in client.get("/admin/").content.decode()


def test_amounts_in_cents_round_half_up_and_a_sliver_is_never_zero():
    shown = [format_usd(Decimal(v)) for v in ("0", "5", "12.5", "1250", "-3.1", "0.9557219")]
    assert shown == ["$0.00", "$5.00", "$12.50", "$1,250.00", "-$3.10", "$0.96"]
    assert format_usd(Decimal("0.02828662")) == "$0.03"
    assert format_usd(Decimal("-0.08388112")) == "-$0.08"
    assert format_usd(Decimal("0.005")) == "$0.01"
    assert format_usd(Decimal("0.0000001")) == "<$0.01"
    assert format_usd(Decimal("1000000000")) == "$1,000,000,000.00"
    assert format_usd(Decimal("2.5"), signed=True) == "+$2.50"
    assert format_usd(None) == format_usd("") == ""
    with pytest.raises(ValueError):
        format_usd(0.1)  # floats never reach money


def test_a_request_cost_keeps_three_significant_digits_and_at_least_cents():
    costs = ("0.0000935", "0.058", "0.0008495", "0.0000001", "0", "0.1", "12.345", "1250.5")
    assert [format_cost(Decimal(v)) for v in costs] == [
        "$0.0000935",
        "$0.058",
        "$0.00085",
        "$0.0000001",
        "$0.00",
        "$0.10",
        "$12.35",
        "$1,250.50",
    ]
    assert format_cost(Decimal("-0.0003"), signed=True) == "-$0.0003"


def test_the_exact_and_plain_forms_keep_every_digit():
    assert exact_usd(Decimal("0.9557219000")) == "$0.9557219"
    assert exact_usd(Decimal("1234.56789")) == "$1,234.56789"
    assert exact_usd(Decimal("5")) == "$5.00"
    assert plain(Decimal("0.0000935000")) == "0.0000935"
    assert plain(Decimal("0E-10")) == "0"


def test_the_html_forms_carry_the_exact_amount_and_escape_nothing_twice():
    assert usd_html(Decimal("0.9557219")) == span("$0.96", "$0.9557219")
    assert usd_html(Decimal("-0.5"), signed=True) == span("-$0.50", "-$0.50")
    assert cost_html(Decimal("0.0000935")) == span("$0.0000935", "$0.0000935")
    assert usd_html(None) == cost_html("") == ""
