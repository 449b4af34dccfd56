"""The wallet page in a real browser: redeem a code and watch the balance change."""

from __future__ import annotations

import re

import pytest

from accounts.models import User
from billing.models import LedgerEntry
from tests.billing.conftest import fund, make_batch
from tests.conftest import PASSWORD, screenshot
from tests.support.browser import sign_up_and_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_redeeming_a_code_updates_the_balance_and_ledger_in_place(page, portico_server, mail_dir):
    sign_up_and_sign_in(page, portico_server, mail_dir, "wendy@example.com", PASSWORD)
    code = make_batch("10", 1).codes.get().code
    page.get_by_role("navigation", name="Primary").get_by_role("link", name="Wallet").click()
    page.wait_for_url("**/wallet/")
    balance = page.get_by_test_id("balance")
    assert balance.inner_text() == "$0.00"

    field = page.get_by_label("Redemption code")
    field.fill("PORT-2222-3333-4444")
    page.get_by_role("button", name="Redeem").click()
    error = page.locator("#id_code_error")
    error.wait_for()
    assert "is not a valid code" in error.inner_text()
    assert page.get_by_label("Redemption code").get_attribute("aria-invalid") == "true"

    page.get_by_label("Redemption code").fill(code.lower().replace("-", " "))
    page.get_by_role("button", name="Redeem").click()
    page.get_by_role("status").filter(has_text="redeemed").wait_for()

    assert page.url.endswith("/wallet/")  # swapped in place, no navigation
    assert balance.inner_text() == "$10.00"
    assert page.get_by_test_id("available").inner_text() == "$10.00"
    assert page.get_by_role("cell", name=f"Redemption code {code}").is_visible()
    assert page.get_by_label("Redemption code").input_value() == ""
    wendy = User.objects.get(email="wendy@example.com")
    assert (
        LedgerEntry.objects.filter(
            wallet__organization__personal_for=wendy, kind="redemption"
        ).count()
        == 1
    )
    screenshot(page, "wallet")


def test_the_wallet_page_fits_a_phone(page, portico_server, mail_dir):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_up_and_sign_in(page, portico_server, mail_dir, "xavier@example.com", PASSWORD)
    xavier = User.objects.get(email="xavier@example.com")
    for index in range(30):
        fund(xavier, f"{index + 1}.25")

    page.goto(portico_server.url + "/wallet/")
    page.get_by_label("E-mail me when my balance falls below (USD)").fill("3")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("We will e-mail you when your balance falls below $3.").wait_for()

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width}px)"
    assert page.get_by_test_id("balance").inner_text() == "$472.50"
    page.get_by_role("link", name="Older →").click()
    page.wait_for_url(re.compile(r".*/wallet/\?before=\d+#wallet-ledger"))
    assert page.get_by_role("cell", name="+$1.25").is_visible()
    screenshot(page, "wallet-phone")
