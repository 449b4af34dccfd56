"""The staff overview in a real browser: reached from the admin index, drawn at desktop and
phone widths; refused to users who are not staff."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from accounts.models import User
from billing.credits import credit
from catalog.models import Provider
from tests.conftest import PASSWORD, make_user, screenshot
from tests.support.orgs import org_id
from tests.support.usage import usage_event
from usage.drain import discard_pending_events, record_usage_events

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def with_real_password(user: User) -> User:
    # The server checks passwords with the production hashers, not the tests' fast one.
    hasher = PBKDF2PasswordHasher()
    User.objects.filter(pk=user.pk).update(password=hasher.encode(PASSWORD, hasher.salt()))
    return user


def sign_in(page, server, email: str, *, at: str) -> None:
    page.goto(server.url + at)
    page.locator("input[name=username], input[name=login]").first.fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[type=submit], button[type=submit]").first.click()


@pytest.fixture
def traffic(transactional_db):
    """Two users' requests over the last days, one of them failed."""
    discard_pending_events()
    Provider.objects.create(name="groq", kind="openai", base_url="http://groq.test/v1")
    erin = make_user("erin@example.com")
    frank = make_user("frank@example.com")
    credit(org_id(erin), Decimal("20"), kind="adjustment", idempotency_key="erin-credit")
    now = time.time()
    events = [
        usage_event(
            user,
            model=model,
            provider="groq",
            cost_usd=Decimal(cost),
            latency_ms=300 + n,
            created_at=now - n * 3600 * 7,
        )
        for n, (user, model, cost) in enumerate(
            [(erin, "deep-sa/alLLM", "0.12"), (frank, "llama-3.3-70b", "0.03")] * 12
        )
    ]
    failed = usage_event(
        erin,
        model="deep-sa/alLLM",
        provider="groq",
        status="error",
        http_status=502,
        error_code="upstream_error",
        cost_usd=Decimal(0),
        created_at=now - 60,
    )
    record_usage_events([*events, failed])
    return {"erin": erin, "failed": failed.request_id}


def test_staff_open_the_overview_from_the_admin_at_desktop_and_phone_widths(
    page, portico_server, traffic
):
    staff = with_real_password(make_user("ops@example.com", staff=True))
    sign_in(page, portico_server, staff.email, at="/admin/login/")
    page.wait_for_url(portico_server.url + "/admin/")

    page.get_by_role("link", name="Overview").click()
    page.wait_for_url(portico_server.url + "/admin/overview/")
    page.get_by_role("heading", name="Admin overview").wait_for()
    for chart in ("spend-hourly", "requests-hourly", "spend-daily", "requests-daily"):
        page.locator(f"#overview-{chart} svg rect").first.wait_for()
    assert page.get_by_test_id("requests-30d").inner_text() == "25"
    assert page.get_by_test_id("error-rate-30d").inner_text() == "4.0 %"
    top_users = page.get_by_test_id("top-users")
    assert top_users.locator("tbody tr").first.locator("th").inner_text() == "erin@example.com"
    assert "groq" in page.get_by_test_id("providers").inner_text()
    failures = page.get_by_test_id("failures")
    assert "The provider answered with an error." in failures.inner_text()
    screenshot(page, "admin-overview-1280")

    page.set_viewport_size({"width": 390, "height": 844})
    # charts.js redraws at the new width shortly after a resize.
    page.wait_for_function(
        "() => +document.querySelector('#overview-spend-hourly svg')"
        ".getAttribute('viewBox').split(' ')[2] < 390"
    )
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot(page, "admin-overview-390")
    page.set_viewport_size({"width": 1280, "height": 860})

    # A failure opens as the request's record in the admin.
    failures.get_by_role("link", name=traffic["failed"]).click()
    page.get_by_text("upstream_error").first.wait_for()
    assert "/admin/usage/usagerecord/" in page.url

    # The top user's admin page carries their usage and wallet.
    page.goto(portico_server.url + "/admin/overview/")
    top_users.get_by_role("link", name="erin@example.com").click()
    usage = page.get_by_test_id("user-usage")
    usage.wait_for()
    assert "All time" in usage.inner_text()
    assert page.get_by_test_id("user-wallet").inner_text().startswith("Balance $")
    screenshot(page, "admin-user-usage-panel")
    page.get_by_role("link", name="Ledger", exact=True).click()
    page.get_by_text("Admin adjustment").first.wait_for()


def test_a_signed_in_user_who_is_not_staff_gets_403_on_the_overview(
    browser, portico_server, traffic
):
    # Its own context: the ``page`` fixture fails a test on the 403 this one expects.
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        page = context.new_page()
        with_real_password(traffic["erin"])
        sign_in(page, portico_server, "erin@example.com", at="/accounts/login/")
        page.wait_for_url(portico_server.url + "/")
        response = page.goto(portico_server.url + "/admin/overview/")
        assert response.status == 403
        assert "Admin overview" not in page.content()
        assert "frank@example.com" not in page.content()
        # The admin's own pages send them to its sign-in, as for anyone without staff status.
        page.goto(portico_server.url + "/admin/")
        assert "/admin/login/" in page.url
    finally:
        context.close()


def test_a_signed_out_visitor_is_sent_to_the_admin_sign_in(page, portico_server, traffic):
    page.goto(portico_server.url + "/admin/overview/")
    assert page.url == portico_server.url + "/admin/login/?next=/admin/overview/"
    assert "frank@example.com" not in page.content()
