"""Dashboard, Models and Usage pages in a real Chromium: htmx filtering, charts, CSV download."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone

from accounts.keys import issue_key
from catalog.models import Deployment, Model, Provider
from tests.conftest import PASSWORD, make_user, screenshot
from tests.gateway.test_usage_page import event
from usage.drain import discard_pending_events, record_usage_events

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db):
    """A small catalog and a month of usage for dana."""
    discard_pending_events()
    local = Provider.objects.create(name="local", label="Built-in", kind="local")
    groq = Provider.objects.create(name="groq", label="Groq", base_url="https://groq.test/v1")
    for public_id, kind, provider, price in (
        ("portico/test-chat", "llm", local, "0.5"),
        ("portico/test-embedding", "embedding", local, "0.02"),
        ("llama-3.3-70b", "llm", groq, "0.59"),
        ("openai/gpt-5-mini", "llm", groq, "0.25"),
    ):
        model = Model.objects.create(
            public_id=public_id,
            type=kind,
            name=public_id.split("/")[-1].title(),
            description=f"The {public_id} model.",
            context_window=131072,
            input_price_per_1m=Decimal(price),
            output_price_per_1m=Decimal(price) * 2,
        )
        Deployment.objects.create(model=model, provider=provider, upstream_model=public_id)
    dana = make_user("dana@example.com")
    # The server checks passwords with the real hashers, not the tests' fast MD5 one.
    hasher = PBKDF2PasswordHasher()
    dana.password = hasher.encode(PASSWORD, hasher.salt())
    dana.save(update_fields=["password"])
    key = issue_key(dana, "laptop").key
    now = timezone.now()
    events = []
    for n in range(80):
        events.append(
            event(
                dana,
                at=now - timedelta(hours=n * 7, minutes=1),
                model="openai/gpt-5-mini" if n % 3 else "portico/test-chat",
                provider="groq" if n % 3 else "local",
                api_key_id=key.pk,
                source="api_key" if n % 4 else "playground",
                prompt_tokens=200 + n,
                completion_tokens=80 + n,
                tokens_reported=n % 5 != 0,
                cost_usd=f"0.00{n + 10}",
                status="error" if n % 9 == 0 else "ok",
                latency_ms=300 + 10 * n,
                ttft_ms=60 + n,
                stream=True,
            )
        )
    record_usage_events(events[::-1])  # oldest first, so ids grow with time as in production
    return {"user": dana, "key": key, "events": events}


def sign_in(page, server, email: str) -> None:
    page.goto(server.url + "/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(server.url + "/")


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_the_dashboard_shows_spend_and_a_chart(page, portico_server, world):
    sign_in(page, portico_server, "dana@example.com")

    page.locator("#dashboard-spend svg rect").first.wait_for()  # a day with spend
    assert page.get_by_test_id("spend-month").inner_text().startswith("$")
    assert page.get_by_role("heading", name="Top models this month").is_visible()
    assert "openai/gpt-5-mini" in page.locator("#quick-start-python").text_content()
    screenshot(page, "dashboard")


def test_the_catalog_filters_as_you_type(page, portico_server, world):
    sign_in(page, portico_server, "dana@example.com")
    page.goto(portico_server.url + "/models/")
    table = page.locator("#model-results tbody tr")
    assert table.count() == 4
    screenshot(page, "models")

    search = page.get_by_label("Search")
    search.focus()
    page.keyboard.type("embed")
    page.wait_for_function(
        "() => document.querySelectorAll('#model-results tbody tr').length === 1"
    )
    assert "portico/test-embedding" in page.locator("#model-results").inner_text()
    assert "q=embed" in page.url  # the filtered view can be bookmarked

    search.fill("")
    page.wait_for_function(
        "() => document.querySelectorAll('#model-results tbody tr').length === 4"
    )
    page.get_by_label("Provider").select_option("groq")
    page.wait_for_function(
        "() => document.querySelectorAll('#model-results tbody tr').length === 2"
    )
    page.get_by_label("Type").select_option("embedding")
    page.get_by_text("No model matches these filters.").wait_for()


def test_the_model_page_draws_its_charts(page, portico_server, world):
    sign_in(page, portico_server, "dana@example.com")
    page.goto(portico_server.url + "/models/")
    page.get_by_role("link", name="openai/gpt-5-mini").click()
    page.wait_for_url("**/models/openai/gpt-5-mini/")

    for chart in ("latency-chart", "throughput-chart"):
        page.locator(f"#{chart} svg circle").first.wait_for()  # hours with traffic
    page.locator("#requests-chart svg rect").first.wait_for()
    label = page.locator("#latency-chart").get_attribute("aria-label")
    assert label.startswith("Latency, last 24 hours")
    page.get_by_text("Show the data as a table").first.click()
    assert page.locator("#latency-chart").locator("xpath=..").locator("table").is_visible()
    assert 'model="openai/gpt-5-mini"' in page.locator("#model-example-python").text_content()
    screenshot(page, "model-page")


def test_usage_filters_paging_export_and_detail(page, portico_server, world):
    sign_in(page, portico_server, "dana@example.com")
    page.goto(portico_server.url + "/usage/?range=30d")
    rows = page.locator(".usage-table tbody tr:not(.load-more-row)")
    assert rows.count() == 50
    page.locator("#spend-chart svg rect").first.wait_for()
    page.locator("#tokens-chart + .chart-legend").wait_for()
    screenshot(page, "usage")

    page.get_by_role("link", name="Load more").click()  # htmx appends the next page
    page.wait_for_function(
        "() => document.querySelectorAll('.usage-table tbody tr:not(.load-more-row)').length > 50"
    )
    assert "after=" not in page.url

    page.get_by_label("Model", exact=True).select_option("portico/test-chat")
    page.get_by_label("Status", exact=True).select_option("error")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r".*status=error.*"))
    expected = [
        e
        for e in world["events"]
        if e.model == "portico/test-chat"
        and e.status == "error"
        and e.created_at >= (timezone.now() - timedelta(days=30)).timestamp()
    ]
    assert rows.count() == len(expected) > 0
    assert page.get_by_role("note").inner_text().startswith("Totals and charts count every status")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("portico-usage-")
    lines = list(csv.DictReader(io.StringIO(download.path().read_text(encoding="utf-8"))))
    assert {line["request_id"] for line in lines} == {e.request_id for e in expected}
    assert all(line["api_key_prefix"] == world["key"].prefix for line in lines)

    rows.first.locator('a[title^="Request "]').click()  # the row's time links its request
    page.wait_for_url("**/usage/req_*/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Request")
    assert page.get_by_text("Upstream model").is_visible()
    screenshot(page, "usage-detail")


@pytest.mark.parametrize("path", ["/", "/models/", "/models/portico/test-chat/", "/usage/"])
def test_the_pages_fit_a_phone(page, portico_server, world, path):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, portico_server, "dana@example.com")
    page.goto(portico_server.url + path)
    page.get_by_role("heading", level=1).first.wait_for()
    if page.locator("[data-chart]").count():
        page.locator("[data-chart] svg").first.wait_for()
    assert scroll_width(page) <= 390, f"{path} scrolls sideways on a phone"
    if path == "/usage/":
        screenshot(page, "usage-phone")
