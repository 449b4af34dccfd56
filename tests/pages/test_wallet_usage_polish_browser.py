"""In a real browser: a new account's empty wallet says where credit comes from, and the
Usage page names keys, explains a failed request and links only catalog models."""

from __future__ import annotations

import pytest

from accounts.keys import issue_key
from accounts.models import User
from billing.models import LedgerEntry
from catalog.models import Provider
from tests.billing.conftest import make_batch
from tests.conftest import PASSWORD, make_user, screenshot
from tests.gateway.conftest import add_model
from tests.support.browser import sign_up_and_sign_in
from tests.support.usage import usage_event
from usage.drain import record_usage_events

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_empty_wallet_says_how_to_get_credit_until_a_code_fills_it(
    page, portico_server, mail_dir
):
    make_user("root@example.com", staff=True)
    sign_up_and_sign_in(page, portico_server, mail_dir, "yara@example.com", PASSWORD)
    page.goto(portico_server.url + "/wallet/")

    empty = page.get_by_test_id("wallet-empty")
    assert empty.get_by_role("heading", name="Your wallet is empty").is_visible()
    assert empty.get_by_role("link", name="root@example.com").get_attribute("href") == (
        "mailto:root@example.com"
    )
    assert "redemption code" in empty.inner_text()
    screenshot(page, "wallet-empty")

    code = make_batch("3", 1).codes.get().code
    page.get_by_label("Redemption code").fill(code)
    page.get_by_role("button", name="Redeem").click()
    page.get_by_role("status").filter(has_text="redeemed").wait_for()
    empty.wait_for(state="detached")
    assert page.get_by_test_id("balance").inner_text() == "$3.00"
    yara = User.objects.get(email="yara@example.com")
    assert LedgerEntry.objects.filter(wallet__organization__personal_for=yara).count() == 1


def test_the_usage_page_names_keys_and_explains_a_failed_request(page, portico_server, mail_dir):
    local = Provider.objects.create(name="local", kind="local")
    add_model("portico/test-chat", [(local, "test-chat", 1)])
    sign_up_and_sign_in(page, portico_server, mail_dir, "zoe@example.com", PASSWORD)
    zoe = User.objects.get(email="zoe@example.com")
    key = issue_key(zoe, "nightly batch").key
    ok = usage_event(zoe, api_key_id=key.pk, model="portico/test-chat")
    failed = usage_event(
        zoe,
        api_key_id=key.pk,
        model="gpt-nonexistent",
        status="error",
        http_status=404,
        error_code="model_not_found",
        cost_usd=0,
        created_at=ok.created_at + 1,
    )
    record_usage_events([ok, failed])

    page.goto(portico_server.url + "/usage/")
    rows = page.locator("#usage-rows tr")
    assert rows.count() == 2
    newest, oldest = rows.nth(0), rows.nth(1)
    assert "nightly batch" in newest.inner_text() and key.prefix in newest.inner_text()
    assert newest.get_by_role("link", name="gpt-nonexistent").count() == 0
    assert oldest.get_by_role("link", name="portico/test-chat").is_visible()
    assert "(no provider)" not in page.locator("#id_model").inner_text()
    screenshot(page, "usage-key-names")

    newest.get_by_role("link").first.click()
    page.wait_for_url(f"**/usage/{failed.request_id}/")
    assert page.get_by_test_id("error-explanation").inner_text() == (
        "The model does not exist or is not available."
    )
    screenshot(page, "usage-failed-request")
