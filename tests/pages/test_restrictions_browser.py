"""An account an admin held to ``portico/test-chat`` at 5 requests a minute, in a real
browser at a desktop and a phone width: the Keys page shows what the gateway enforces
(not "all" models and the 600 RPM default), and the OCR and Retrieval pages refuse with
a sentence that names the account — no key is involved there."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.keys import issue_key
from billing.credits import credit
from catalog.models import Model
from retrieval import collections, ingest
from tests.conftest import screenshot
from tests.ocr.conftest import one_page_pdf
from tests.support.browser import sign_in_as
from tests.support.orgs import org_id

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REFUSAL = "Your account may not use the model"


@pytest.fixture
def held(alice, local_models, portico_server):
    Model.objects.create(public_id="portico/ocr", type="ocr", unit_price=Decimal("0.01"))
    Model.objects.create(
        public_id="portico/alretrieval", type="retrieval", unit_price=Decimal("0.002")
    )
    credit(org_id(alice), Decimal(5), kind="adjustment", idempotency_key=f"fund:{alice.pk}")
    alice.allowed_models = ["portico/test-chat"]
    alice.rpm_limit = 5
    alice.save()
    return alice


@pytest.mark.allow_http_error(403)  # the refused OCR upload's page is a 403
@pytest.mark.parametrize("width", [1280, 390])
def test_a_held_account_sees_its_real_limits_and_is_refused_by_name(
    page, held, portico_server, tmp_path, width
):
    issue_key(held, "ci", rpm=30)
    collection = collections.create_collection(held, "Handbook")
    ingest.ingest_pages(held, collection.collection_id, "t", None, ["Harbour budget."])
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_as(page, portico_server, held)

    page.goto(portico_server.url + "/keys/")
    card = page.locator("article.key-card").first
    expect(card.get_by_test_id("key-models")).to_contain_text("portico/test-chat (your account)")
    expect(card.get_by_test_id("key-limits")).to_contain_text("5 RPM (your account; this key: 30)")
    screenshot(page, f"restricted-keys-{width}")

    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(one_page_pdf())
    page.goto(portico_server.url + "/ocr/")
    page.locator("input[type=file][name=file]").set_input_files(str(pdf))
    page.get_by_role("button", name="Upload", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(f"{REFUSAL} 'portico/ocr'")
    expect(alert).not_to_contain_text("API key")
    screenshot(page, f"restricted-ocr-{width}")

    page.goto(f"{portico_server.url}/retrieval/{collection.collection_id}/")
    page.get_by_role("searchbox").fill("harbour")
    page.get_by_role("searchbox").press("Enter")
    expect(page.get_by_role("alert")).to_contain_text(f"{REFUSAL} 'portico/alretrieval'")
    screenshot(page, f"restricted-retrieval-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
