"""The pages a new user walked through, in a real Chromium at 1280 and 390 px: a stale
link, an OCR job finishing, a bilingual search handed to the playground, the Usage
page's model lists, the footer's status and the e-mail confirmation. Screenshots of
each page at both widths go to the artifacts directory."""

from __future__ import annotations

import base64
import re
import time
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalog.models import Deployment, Model, Provider
from ocr.models import OcrJob, OcrPage
from retrieval import ingest
from retrieval.models import Collection
from tests.conftest import PASSWORD, make_user
from tests.ocr.conftest import make_job
from tests.support.browser import mail_link, sign_in_as
from tests.support.screenshots import save_screenshot
from tests.support.usage import usage_event
from usage.drain import discard_pending_events, record_usage_events

__all__ = ["make_job"]  # the OCR tests' fixture, used here too

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 390)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
AR = "تقع مدينة الإسكندرية على ساحل البحر الأبيض المتوسط."
EN = "Ships enter the harbour at dawn."


def at_width(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})


def fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"the page scrolls sideways ({width}px at {viewport}px)"


@pytest.fixture
def lenient_page(browser):
    """A page whose document may answer 404 (Chromium logs that status as a console
    error); any other console error still fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    expected = re.compile(r"Failed to load resource: the server responded with a status of 404")
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not expected.search(msg.text)
            else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def catalog(transactional_db):
    discard_pending_events()
    local = Provider.objects.create(name="local", label="Built-in", kind="local")
    chat = Model.objects.create(
        public_id="portico/test-chat", input_price_per_1m=Decimal("0.5"), output_price_per_1m=1
    )
    Deployment.objects.create(model=chat, provider=local, upstream_model="test-chat")
    for n in range(3):  # in the catalog, served by no provider: hidden on the Models page
        Model.objects.create(public_id=f"someday/model-{n}")
    yield local
    discard_pending_events()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_stale_link_after_deleting_a_collection_gets_portico_s_404(
    lenient_page, portico_server, alice, width
):
    page = lenient_page
    at_width(page, width)
    sign_in_as(page, portico_server, alice)
    collection = Collection.objects.create(owner=alice, name="Old notes")
    url = f"{portico_server.url}/retrieval/{collection.collection_id}/"
    page.goto(url)
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete collection").click()
    page.wait_for_url(portico_server.url + "/retrieval/")

    response = page.goto(url)  # Back, or a bookmark, to what was deleted

    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.locator("#primary-nav")).to_be_attached()  # the site's layout, signed in
    assert "URLconf" not in page.content() and "urlpatterns" not in page.content()
    fits(page)
    save_screenshot(page, "error-404")
    page.get_by_role("link", name="Go to the dashboard").click()
    page.wait_for_url(portico_server.url + "/")


def test_the_ocr_job_page_finishes_updating_by_itself(page, portico_server, alice, make_job):
    job = make_job(alice, status=OcrJob.Status.PROCESSING, pages=3)
    page.route(re.compile(r"/thumbnail\.png$"), lambda route: route.fulfill(body=PNG))
    sign_in_as(page, portico_server, alice)
    page.goto(f"{portico_server.url}/ocr/jobs/{job.token}/")
    page.evaluate("window.notReloaded = true")
    status = page.locator("[data-progress-text]")
    expect(status).to_have_text(re.compile(r"Reading: 0 of 3 pages read…"))
    expect(page.get_by_test_id("searchable-pdf")).to_have_count(0)

    # Page 2 is read before page 1: the text counts, it does not guess which page is next.
    OcrPage.objects.filter(job=job, page_num=2).update(status=OcrPage.Status.DONE)
    OcrJob.objects.filter(pk=job.pk).update(pages_done=1)
    expect(status).to_have_text(re.compile(r"Reading: 1 of 3 pages read…"))
    tiles = page.get_by_role("list", name="Pages").get_by_role("listitem")
    expect(tiles.nth(0)).to_contain_text("waiting")
    expect(tiles.nth(1).get_by_role("img", name="Page 2")).to_be_visible()
    expect(page.locator("[data-progress-value]")).to_have_text("33%")
    for width in WIDTHS:
        at_width(page, width)
        fits(page)
        save_screenshot(page, "ocr-job-reading")

    OcrPage.objects.filter(job=job).update(status=OcrPage.Status.DONE)
    OcrJob.objects.filter(pk=job.pk).update(status=OcrJob.Status.DONE, pages_done=3)

    expect(page.get_by_test_id("searchable-pdf")).to_be_visible()  # no reload
    expect(status).to_have_text("All 3 pages read.")
    expect(page.locator("[data-polling]")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True
    for width in WIDTHS:
        at_width(page, width)
        fits(page)
        save_screenshot(page, "ocr-job-done")


def test_a_bilingual_search_keeps_its_lines_and_goes_to_the_playground_with_its_question(
    page, portico_server, alice, catalog
):
    collection = Collection.objects.create(owner=alice, name="Harbour notes")
    text = f"# Harbour\n\n**Harbour rules** for *every* ship\n{AR}\n{EN}\n- Moor at **pier 4**\n"
    ingest.ingest_file(
        alice, collection.collection_id, "handbook.md", "text/markdown", text.encode()
    )
    sign_in_as(page, portico_server, alice)
    page.goto(f"{portico_server.url}/retrieval/{collection.collection_id}/")
    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(crumbs).to_have_text("Retrieval / Harbour notes")

    box = page.get_by_label("Question or keywords")
    box.fill("harbour ships الإسكندرية")
    box.press("Enter")
    snippet = page.get_by_role("list", name="Passages").locator(".rtv-snippet").first
    lines = snippet.locator("p")
    expect(lines).to_have_count(4)
    assert [lines.nth(n).get_attribute("dir") for n in range(4)] == ["auto"] * 4
    directions = lines.evaluate_all("ps => ps.map((p) => getComputedStyle(p).direction)")
    assert directions == ["ltr", "rtl", "ltr", "ltr"]
    expect(lines.nth(0).locator("strong")).to_have_text("Harbour rules")
    expect(lines.nth(0).locator("em")).to_have_text("every")
    expect(lines.nth(3)).to_have_text("Moor at pier 4")
    assert "**" not in snippet.inner_text() and "- " not in snippet.inner_text()
    for width in WIDTHS:
        at_width(page, width)
        fits(page)
        # A short file name stays whole: one line box, not "handbook.d" + "ocx".
        name = page.locator("table.rtv-documents").get_by_role("link", name="handbook.md")
        assert name.evaluate("a => a.getClientRects().length") == 1
        save_screenshot(page, "retrieval-bilingual")

    at_width(page, 1280)
    page.get_by_role("button", name="Use in playground").click()
    page.wait_for_url("**/playground/")
    expect(page.get_by_label("System prompt")).to_have_value(re.compile(r"\[1\] handbook\.md"))
    expect(page.locator("#pg-input")).to_have_value("harbour ships الإسكندرية")
    save_screenshot(page, "retrieval-to-playground")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_usage_page_lists_only_models_that_exist_or_cost_something(
    page, portico_server, alice, catalog, width
):
    now = time.time()
    record_usage_events(
        [
            usage_event(alice, model="portico/test-chat", cost_usd=Decimal("0.02"), created_at=now),
            *(
                usage_event(
                    alice,
                    model="nope/none",
                    status="error",
                    http_status=404,
                    error_code="model_not_found",
                    cost_usd=Decimal(0),
                    created_at=now - n - 1,
                )
                for n in range(2)
            ),
        ]
    )
    at_width(page, width)
    sign_in_as(page, portico_server, alice)

    page.goto(portico_server.url + "/usage/")
    by_model = page.get_by_role("region", name="Spend by model")
    expect(by_model.get_by_role("link", name="portico/test-chat")).to_be_visible()
    expect(by_model).not_to_contain_text("nope/none")
    options = page.locator("#id_model option").all_inner_texts()
    assert options == ["Any model", "portico/test-chat"]
    expect(page.get_by_test_id("total-requests")).to_have_text("3")
    fits(page)
    save_screenshot(page, "usage-model-lists")

    page.goto(portico_server.url + "/")
    top = page.get_by_role("region", name="Top models this month")
    expect(top).to_contain_text("portico/test-chat")
    expect(top).not_to_contain_text("nope/none")
    save_screenshot(page, "dashboard-top-models")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_footer_s_status_link_opens_a_page(page, portico_server, width):
    at_width(page, width)
    page.goto(portico_server.url + "/accounts/login/")
    page.get_by_role("contentinfo").get_by_role("link", name="status").click()
    page.wait_for_url(portico_server.url + "/status/")
    expect(page.get_by_test_id("status-summary")).to_have_text("Portico is working")
    expect(page.get_by_text("Database")).to_be_visible()
    assert not page.locator("body").inner_text().lstrip().startswith("{")
    fits(page)
    save_screenshot(page, "status")


def test_confirming_the_e_mail_signs_the_new_user_in(page, portico_server, mail_dir):
    make_user("root@example.com", staff=True)
    page.goto(portico_server.url + "/accounts/signup/")
    page.locator("input[name=email]").fill("newbie@example.com")
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url("**/accounts/confirm-email/")

    page.goto(mail_link(mail_dir, "newbie@example.com", r"http://\S+/accounts/confirm-email/\S+/"))
    expect(page.get_by_text("Confirm that newbie@example.com is your address")).to_be_visible()
    assert "is an email address for user" not in page.content()
    for width in WIDTHS:
        at_width(page, width)
        fits(page)
        save_screenshot(page, "email-confirm")

    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(portico_server.url + "/")
    expect(page.get_by_role("heading", name="Welcome, newbie")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(
        "Your e-mail address newbie@example.com is confirmed."
    )
    save_screenshot(page, "email-confirmed-dashboard")
