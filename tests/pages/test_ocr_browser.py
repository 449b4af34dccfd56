"""The OCR page in a real browser, with the real worker reading the pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import screenshot
from tests.ocr.conftest import fund, make_job, mixed_pdf, ocr_model, ocr_server
from tests.support.browser import sign_in_as

# The OCR fixtures live with the OCR tests; these pages use them too.
__all__ = ["make_job", "ocr_model", "ocr_server"]

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_pdf_uploaded_in_the_portal_fills_in_live_and_shows_its_pages(
    page, alice, ocr_model, ocr_server, celery_worker, tmp_path
):
    fund(alice)
    pdf = tmp_path / "library-and-fair.pdf"
    pdf.write_bytes(mixed_pdf())
    sign_in_as(page, ocr_server, alice)

    page.goto(ocr_server.url + "/ocr/")
    expect(page.get_by_role("heading", name="OCR", exact=True)).to_be_visible()
    expect(page.get_by_text("No documents yet")).to_be_visible()
    screenshot(page, "ocr")

    # One picker: the drop zone; the native input is only there for the keyboard and no-JS.
    expect(page.get_by_text("Drop a PDF here")).to_be_visible()
    expect(page.locator("input[type=file][name=file]")).to_have_count(1)
    assert page.locator("input[type=file][name=file]").bounding_box()["width"] <= 1
    upload = page.get_by_role("button", name="Upload", exact=True)
    expect(upload).to_be_disabled()
    # Choosing a file shows its name and size and uploads nothing until Upload is pressed.
    page.locator("form[data-ocr-upload]").evaluate(
        "form => form.addEventListener('submit', () => { window.submitted = true; })"
    )
    page.locator("input[type=file][name=file]").set_input_files(str(pdf))
    expect(page.locator("[data-file-name]")).to_have_text(
        re.compile(r"library-and-fair\.pdf \(\d+ KB\)")
    )
    screenshot(page, "ocr-file-chosen")
    # The name is shown by the same change handler that used to submit the form.
    assert page.evaluate("() => window.submitted === undefined")
    assert page.url == ocr_server.url + "/ocr/"
    expect(page.get_by_text("No documents yet")).to_be_visible()
    upload.click()
    page.wait_for_url(re.compile(r"/ocr/jobs/[\w-]+/$"))
    expect(page.get_by_role("heading", name="library-and-fair.pdf")).to_be_visible()
    bar = page.get_by_role("progressbar", name="Pages read")
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=90_000)
    thumbnails = page.get_by_role("list", name="Pages").get_by_role("img")
    expect(thumbnails).to_have_count(3)
    for index in range(3):
        expect(thumbnails.nth(index)).to_have_js_property("naturalWidth", 200)
    expect(page.locator("[data-polling]")).to_have_count(0)  # polling stopped
    screenshot(page, "ocr-job")

    page.get_by_role("link", name="Page 2").click()
    expect(page.get_by_role("heading", name=re.compile(r"Page 2"))).to_be_visible()
    image = page.get_by_role("img", name="Scan of page 2")
    expect(image).to_be_visible()
    expect(image).to_have_js_property("complete", True)  # visible before it has loaded
    assert image.evaluate("img => img.naturalWidth") > 500
    text = page.locator("[data-ocr-text] p").first
    expect(text).to_contain_text("المعرض")
    assert text.evaluate("p => getComputedStyle(p).direction") == "rtl"
    boxes = page.locator(".ocr-box")
    assert boxes.count() >= 1
    page.get_by_label(re.compile("Always show")).check()
    expect(page.locator(".ocr-boxes")).to_have_css("opacity", "1")
    screenshot(page, "ocr-page")

    with page.expect_download() as download:
        page.get_by_role("link", name="TXT").click()
    assert "المعرض" in Path(download.value.path()).read_text(encoding="utf-8")

    page.goto(ocr_server.url + "/ocr/")
    row = page.get_by_role("row", name=re.compile("library-and-fair.pdf"))
    expect(row.get_by_text("done")).to_be_visible()


def test_the_ocr_pages_fit_a_phone_and_say_when_a_job_expired(page, alice, ocr_server, make_job):
    from datetime import timedelta

    import httpx
    from django.utils import timezone

    job = make_job(alice, expires_at=timezone.now() - timedelta(minutes=1))
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_as(page, ocr_server, alice)
    page.goto(ocr_server.url + "/ocr/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the OCR page scrolls sideways on a phone ({width}px)"
    row = page.get_by_role("row", name=re.compile("made.pdf"))
    expect(row.get_by_text("expired").first).to_be_visible()
    # The job itself answers 410 (a browser would log that status as a console error).
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    response = httpx.get(ocr_server.url + f"/ocr/jobs/{job.token}/", cookies=cookies)
    assert response.status_code == 410
    assert "This document has expired." in response.text


def test_a_pdf_dropped_on_the_upload_zone_is_uploaded(page, alice, ocr_model, ocr_server):
    import base64

    from tests.ocr.conftest import one_page_pdf

    fund(alice)
    sign_in_as(page, ocr_server, alice)
    page.goto(ocr_server.url + "/ocr/")
    page.locator("[data-drop-zone]").evaluate(
        """(zone, b64) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const data = new DataTransfer();
          data.items.add(new File([bytes], "dropped.pdf", {type: "application/pdf"}));
          for (const type of ["dragenter", "dragover", "drop"]) {
            zone.dispatchEvent(new DragEvent(type, {dataTransfer: data, bubbles: true, cancelable: true}));
          }
        }""",
        base64.b64encode(one_page_pdf()).decode(),
    )
    expect(page.locator("[data-file-name]")).to_contain_text("dropped.pdf")
    assert page.url == ocr_server.url + "/ocr/"  # dropping uploads nothing by itself
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(re.compile(r"/ocr/jobs/[\w-]+/$"))
    expect(page.get_by_role("heading", name="dropped.pdf")).to_be_visible()
    expect(page.get_by_role("progressbar", name="Pages read")).to_be_visible()


def test_without_javascript_the_native_picker_and_upload_still_work(
    browser, alice, ocr_model, ocr_server
):
    from tests.ocr.conftest import one_page_pdf

    fund(alice)
    context = browser.new_context(
        viewport={"width": 1280, "height": 860}, java_script_enabled=False
    )
    page = context.new_page()
    try:
        sign_in_as(page, ocr_server, alice)
        page.goto(ocr_server.url + "/ocr/")
        expect(page.get_by_text("Drop a PDF here")).to_be_hidden()  # no drop zone to offer
        picker = page.locator("input[type=file][name=file]")
        expect(picker).to_be_visible()
        screenshot(page, "ocr-no-javascript")
        picker.set_input_files(
            files=[{"name": "plain.pdf", "mimeType": "application/pdf", "buffer": one_page_pdf()}]
        )
        page.get_by_role("button", name="Upload", exact=True).click()
        page.wait_for_url(re.compile(r"/ocr/jobs/[\w-]+/$"))
        expect(page.get_by_role("heading", name="plain.pdf")).to_be_visible()
    finally:
        context.close()
