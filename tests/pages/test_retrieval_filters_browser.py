"""The Retrieval page's attributes in a real browser: each document's attributes as
chips, the search narrowed by attribute rows (added with "Add a filter"), and a
hostile row answered by a message on the page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.credits import credit
from catalog.models import Model
from retrieval import collections, files, vector_store_files
from tests.conftest import screenshot, serve_portico
from tests.support.browser import sign_in_as
from tests.support.orgs import org_id
from usage.drain import discard_pending_events

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
POLICIES = {
    "leave.txt": ("Leave policy for the harbour staff.", {"dept": "HR", "year": 2024}),
    "budget.txt": ("Harbour budget policy.", {"dept": "Finance", "year": 2024}),
    "old.txt": ("The harbour policy of old.", {"dept": "HR", "year": 2019}),
}


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, mail_dir):
    yield from serve_portico(mail_dir)


def test_the_search_is_narrowed_by_attribute_rows(page, server, alice):
    discard_pending_events()
    Model.objects.create(
        public_id="portico/alretrieval", type="retrieval", unit_price=Decimal("0.002")
    )
    credit(org_id(alice), Decimal(5), kind="adjustment", idempotency_key="filters-fund")
    collection = collections.create_collection(alice, "Policies")
    for name, (text, attributes) in POLICIES.items():
        file = files.create_file(alice, name, "text/plain", text.encode(), "assistants")
        vector_store_files.attach_file(
            alice, collection.vector_store_id, file.file_id, attributes, None, None
        )
    sign_in_as(page, server, alice)
    page.goto(f"{server.url}/retrieval/{collection.collection_id}/")

    chips = page.get_by_role("list", name="Attributes of budget.txt").get_by_role("listitem")
    expect(chips).to_have_text(["dept: Finance", "year: 2024"])

    page.get_by_text("Filter by attributes").click()
    page.get_by_label("Attribute 1").fill("dept")
    page.get_by_label("Value 1").fill("HR")
    page.get_by_role("button", name="Add a filter").click()
    expect(page.get_by_label("Attribute 2")).to_be_focused()
    page.get_by_label("Attribute 2").fill("year")
    page.get_by_label("Comparison 2").select_option(label="≥")
    page.get_by_label("Value 2").fill("2020")
    box = page.get_by_label("Question or keywords")
    box.fill("harbour policy")
    box.press("Enter")
    passages = page.get_by_role("list", name="Passages")
    expect(passages.get_by_role("link")).to_have_text(["leave.txt, page 1"])
    expect(page.get_by_test_id("rtv-filter-text")).to_have_text("dept = HR, year ≥ 2020")
    screenshot(page, "retrieval-attribute-filters")

    # A right-to-left override in a value: refused, said on the page, nothing charged.
    page.get_by_label("Value 1").fill("\u202eRH")
    box.press("Enter")
    alert = page.locator("#rtv-results").get_by_role("alert")
    expect(alert).to_contain_text("Invalid 'filter 1 value': it contains the control character")
    expect(passages).to_have_count(0)

    # Sixteen rows at most.
    for _ in range(14):
        page.get_by_role("button", name="Add a filter").click()
    expect(page.get_by_label("Attribute 16")).to_be_visible()
    expect(page.get_by_role("button", name="Add a filter")).to_be_disabled()
