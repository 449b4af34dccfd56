"""Money that reads like money, in a real Chromium at 1280 and 390 px: balances and totals
in cents with the exact amount on hover, one request's cost with its significant digits,
never a line break inside an amount; the admin's large adjustments asked twice and a new
batch's codes on its page. Screenshots of each page at both widths go to the artifacts."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.keys import issue_key
from billing.credits import credit
from billing.models import LedgerEntry, RedemptionBatch, Wallet
from catalog.models import Deployment, Model, Provider
from tests.conftest import make_user
from tests.support.browser import sign_in_as
from tests.support.orgs import org_id
from tests.support.screenshots import save_screenshot
from tests.support.usage import usage_event
from usage.drain import discard_pending_events, record_usage_events

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 390)
COSTS = ("0.058", "0.0008495", "0.0000001", "0", "0.0000935", "0.01828662")

# Every rendered amount: its text, its title, and how many line boxes it takes.
AMOUNTS = """() => [...document.querySelectorAll('.money')]
  .filter((el) => el.getClientRects().length > 0)
  .map((el) => ({text: el.innerText, title: el.title, lines: el.getClientRects().length,
                 nowrap: getComputedStyle(el).whiteSpace === 'nowrap'}))"""


@pytest.fixture
def wallet_world(transactional_db):
    """Dora: a balance with sub-cent digits, requests costing from nothing to cents, a
    key with a budget, and a catalog model with a per-query price."""
    discard_pending_events()
    local = Provider.objects.create(name="local", label="Built-in", kind="local")
    chat = Model.objects.create(
        public_id="portico/test-chat", input_price_per_1m=Decimal("0.5"), output_price_per_1m=1
    )
    Deployment.objects.create(model=chat, provider=local, upstream_model="test-chat")
    rag = Model.objects.create(
        public_id="portico/alretrieval", type="retrieval", unit_price=Decimal("0.002")
    )
    Deployment.objects.create(model=rag, provider=local, upstream_model="alretrieval")
    dora = make_user("dora@example.com")
    credit(org_id(dora), Decimal("1.0322855"), kind="adjustment", idempotency_key="dora-fund")
    key = issue_key(dora, "nightly", daily_budget=Decimal("2.5")).key
    now = time.time()
    record_usage_events(
        [
            usage_event(
                dora,
                model="portico/test-chat",
                provider="local",
                api_key_id=key.pk,
                cost_usd=Decimal(cost),
                created_at=now - n,
            )
            for n, cost in enumerate(COSTS)
        ]
    )
    yield dora
    discard_pending_events()


def amounts_on(page) -> list[dict]:
    found = page.evaluate(AMOUNTS)
    assert found, "no amount on the page"
    for amount in found:
        assert amount["nowrap"], amount
        assert amount["lines"] == 1, f"an amount wraps: {amount}"
        assert amount["title"].startswith(("$", "-$", "+$")), amount
    return found


@pytest.mark.parametrize("width", WIDTHS)
def test_balances_read_in_cents_and_each_request_with_its_digits(
    page, portico_server, wallet_world, width
):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_as(page, portico_server, wallet_world)
    balance = Decimal("1.0322855") - sum(Decimal(c) for c in COSTS)  # 0.95505578

    page.goto(portico_server.url + "/")
    shown = page.get_by_test_id("balance").locator(".money")
    expect(shown).to_have_text("$0.96")
    expect(shown).to_have_attribute("title", f"${balance}")
    amounts_on(page)
    save_screenshot(page, "money-dashboard")

    page.goto(portico_server.url + "/wallet/")
    expect(page.get_by_test_id("balance")).to_have_text("$0.96")
    amounts_on(page)
    save_screenshot(page, "money-wallet")

    page.goto(portico_server.url + "/usage/?range=today")
    expect(page.get_by_test_id("total-spend")).to_have_text("$0.08")
    costs = [a["text"] for a in amounts_on(page)]
    for text in ("$0.058", "$0.00085", "$0.0000001", "$0.0000935", "$0.0183"):
        assert text in costs, (text, costs)
    save_screenshot(page, "money-usage")

    page.goto(portico_server.url + "/keys/")
    amounts_on(page)
    save_screenshot(page, "money-keys")

    page.goto(portico_server.url + "/models/")
    row = page.get_by_role("row", name="portico/alretrieval")
    expect(row.get_by_text("$0.002")).to_be_visible()
    expect(row).to_contain_text("/ query")
    if width == 1280:  # the column says what its prices are for
        header = page.locator("table.models-table thead").inner_text()
        assert "INPUT PRICE" in header.upper() and "$/1M" not in header
    else:
        expect(row.locator('[data-label="Input price"]')).to_be_visible()
    amounts_on(page)
    save_screenshot(page, "money-models")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_admin_overview_never_breaks_an_amount(page, portico_server, wallet_world, width):
    staff = make_user("ops@example.com", staff=True)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_as(page, portico_server, staff)

    page.goto(portico_server.url + "/admin/overview/")
    spend = page.get_by_test_id("spend-24h").locator(".money")
    expect(spend).to_have_text("$0.08")
    expect(spend).to_have_attribute("title", f"${sum(Decimal(c) for c in COSTS)}")
    amounts_on(page)
    save_screenshot(page, "money-admin-overview")

    page.goto(portico_server.url + "/admin/billing/wallet/")
    amounts_on(page)
    save_screenshot(page, "money-admin-wallets")


def test_a_large_adjustment_is_confirmed_before_it_is_posted(page, portico_server, wallet_world):
    staff = make_user("ops@example.com", staff=True)
    sign_in_as(page, portico_server, staff)
    page.goto(
        portico_server.url
        + f"/admin/billing/wallet/{Wallet.objects.get(organization_id=org_id(wallet_world)).pk}/adjust/"
    )
    page.get_by_label("Amount (USD)").fill("50000000")
    page.get_by_label("Staff note").fill("undo typo")
    page.get_by_role("button", name="Adjust balance").click()

    confirm = page.get_by_test_id("confirm-adjustment")
    expect(confirm).to_contain_text("Credit $50,000,000.00 to dora@example.com?")
    assert not LedgerEntry.objects.filter(staff_note="undo typo").exists()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        save_screenshot(page, "admin-adjust-confirm")

    page.get_by_role("button", name="No, change it").click()
    page.get_by_label("Amount (USD)").fill("10")
    page.get_by_role("button", name="Adjust balance").click()
    expect(page.locator(".messagelist")).to_contain_text("Credited $10.00")

    # The owner's ledger shows neither the staff note nor the kind twice.
    sign_in_as(page, portico_server, wallet_world)
    page.goto(portico_server.url + "/wallet/")
    ledger = page.locator("#wallet-ledger")
    expect(ledger).to_contain_text("Admin adjustment")
    expect(ledger).not_to_contain_text("undo typo")


def test_a_new_batch_opens_with_its_codes_to_copy(page, portico_server, transactional_db):
    staff = make_user("ops@example.com", staff=True)
    sign_in_as(page, portico_server, staff)
    page.goto(portico_server.url + "/admin/billing/redemptionbatch/add/")
    page.get_by_label("Amount (USD)").fill("2.50")
    page.get_by_label("Count").fill("3")
    page.get_by_role("button", name="Save", exact=True).click()

    batch = RedemptionBatch.objects.get()
    page.wait_for_url(f"**/admin/billing/redemptionbatch/{batch.pk}/change/")
    box = page.get_by_test_id("batch-codes")
    expect(box).to_have_value("\n".join(batch.codes.order_by("id").values_list("code", flat=True)))
    expect(page.locator(".messagelist")).to_contain_text("3 codes worth $2.50 each")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        save_screenshot(page, "admin-batch-codes")

    page.goto(portico_server.url + "/admin/billing/redemptionbatch/")
    expect(page.get_by_role("link", name=f"Batch {batch.pk}: 3 × $2.50")).to_be_visible()
