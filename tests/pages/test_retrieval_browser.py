"""The Retrieval page in a real browser, with a real worker indexing the documents:
create a collection, upload two files, watch them become ready, search in English and
Arabic, follow a passage to its page, and take the passages to the playground."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.credits import credit
from catalog.models import Model
from tests.conftest import screenshot
from tests.ocr.conftest import ocr_server
from tests.support.browser import sign_in_as
from tests.support.orgs import org_id
from usage.drain import discard_pending_events

# The OCR tests' server queues tasks to the broker (the worker fixture runs them).
__all__ = ["ocr_server"]

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
AR = "تقع مدينة الإسكندرية على ساحل البحر الأبيض المتوسط وتشتهر بمكتبتها القديمة."
EN = "The lighthouse of Alexandria guided ships into the harbour for centuries."


def test_a_collection_is_built_searched_and_used_in_the_playground(
    page, alice, ocr_server, celery_worker, tmp_path
):
    discard_pending_events()
    Model.objects.create(
        public_id="portico/alretrieval", type="retrieval", unit_price=Decimal("0.002")
    )
    credit(org_id(alice), Decimal("5"), kind="adjustment", idempotency_key="browser-fund")
    notes = tmp_path / "notes.txt"
    notes.write_text(EN, encoding="utf-8")
    guide = tmp_path / "guide.md"
    guide.write_text(f"# Harbour\n\n{AR}\n", encoding="utf-8")
    sign_in_as(page, ocr_server, alice)

    page.goto(ocr_server.url + "/retrieval/")
    expect(page.get_by_role("heading", name="Retrieval", exact=True)).to_be_visible()
    expect(page.get_by_text("No collections yet")).to_be_visible()
    page.get_by_label("Name").fill("Harbour notes")
    page.get_by_role("button", name="Create collection").click()
    page.wait_for_url(re.compile(r"/retrieval/[0-9a-f]{32}/$"))
    expect(page.get_by_role("heading", name="Harbour notes")).to_be_visible()

    # Choosing files shows them; Upload sends them (the drop zone shares OCR's module).
    page.locator("input[type=file][name=files]").set_input_files([str(notes), str(guide)])
    expect(page.locator("[data-file-name]")).to_contain_text("notes.txt")
    expect(page.get_by_role("list", name="Upload results")).to_have_count(0)
    page.get_by_role("button", name="Upload", exact=True).click()
    results = page.get_by_role("list", name="Upload results")
    expect(results.get_by_text("added")).to_have_count(2)
    table = page.locator("table.rtv-documents")
    for name in ("notes.txt", "guide.md"):
        row = table.get_by_role("row", name=re.compile(re.escape(name)))
        expect(row.get_by_text("ready", exact=True)).to_be_visible(timeout=60_000)
    expect(page.locator("[data-polling]")).to_have_count(0)  # polling stopped
    expect(page.locator("[data-rtv-summary]")).to_have_text("2 of 2 documents ready")
    # The status change was announced (the live region outlives the polled table).
    expect(page.locator("[aria-live][data-rtv-live]")).to_have_text("2 of 2 documents ready")
    screenshot(page, "retrieval-collection")

    # Search with the keyboard: type, Enter.
    box = page.get_by_label("Question or keywords")
    box.fill("lighthouse ships")
    box.press("Enter")
    passages = page.get_by_role("list", name="Passages")
    expect(passages.locator("mark").first).to_have_text(re.compile("lighthouse|ships"))
    expect(page.get_by_test_id("rtv-cost")).to_contain_text("cost $0.002")
    expect(passages.get_by_role("link", name="notes.txt, page 1")).to_be_visible()

    box.fill("مكتبة الاسكندريه القديمه")  # typed informally: bare alef, ه for ة
    box.press("Enter")
    expect(passages.locator("mark", has_text="الإسكندرية")).to_be_visible()
    expect(passages.locator("mark", has_text="القديمة")).to_be_visible()
    line = passages.locator(".rtv-snippet p", has_text="الإسكندرية").first
    assert line.evaluate("p => getComputedStyle(p).direction") == "rtl"
    screenshot(page, "retrieval-search")

    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "retrieval-search-390")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 860})

    passages.get_by_role("link", name="guide.md, page 1").click()
    text = page.get_by_test_id("rtv-page-text")
    expect(text.locator("mark", has_text="الإسكندرية")).to_be_visible()
    screenshot(page, "retrieval-page")
    page.go_back()

    box = page.get_by_label("Question or keywords")
    box.fill("مكتبة الاسكندريه القديمه")
    box.press("Enter")
    page.get_by_role("button", name="Use in playground").click()
    page.wait_for_url("**/playground/")
    system = page.get_by_label("System prompt")
    expect(system).to_have_value(re.compile(r"\[1\] guide\.md, p\. 1"))
    expect(system).to_have_value(re.compile("الإسكندرية"))
    expect(page.get_by_label("Message")).to_have_value("مكتبة الاسكندريه القديمه")
    expect(page.get_by_test_id("pg-prefill")).to_be_visible()
    screenshot(page, "retrieval-playground")
