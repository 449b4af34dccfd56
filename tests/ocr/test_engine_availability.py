"""A machine without Tesseract's language data says so: /readyz, the upload (503, nothing
charged), the portal page, and failures that name the cause."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.conf import settings
from django.core.cache import cache

from billing.models import Wallet
from ground.errors import ApiError
from ocr import availability, engine, tasks, uploads
from ocr.engine import tesseract
from ocr.models import OcrJob
from tests.ocr.conftest import fund, one_page_pdf
from tests.support.admission import admitted_call

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_arabic_data(monkeypatch, tmp_path):
    """This machine, and so the worker's report (read from the cache with Redis), lack
    the Arabic data."""
    (tmp_path / "eng.traineddata").write_bytes(b"")
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    monkeypatch.setattr(tesseract, "TESSDATA_CANDIDATES", ())
    availability.report_engine_state()
    yield
    cache.delete(availability.ENGINE_STATE_KEY)


def test_the_engine_names_what_is_missing(no_arabic_data):
    assert "ara.traineddata" in engine.engine_problem()


def test_the_engine_is_available_on_this_machine():
    assert engine.engine_problem() is None


def test_readyz_reports_ocr_without_failing(client, no_arabic_data):
    response = client.get("/readyz")
    body = response.json()
    assert body["checks"]["ocr"].startswith("unavailable: no ara.traineddata")
    assert "ocr" not in body.get("failing", [])


def test_an_upload_is_503_and_holds_nothing(alice, ocr_model, no_arabic_data):
    fund(alice)
    with pytest.raises(ApiError) as refused:
        uploads.start_ocr_job(
            admitted_call(alice, settings.OCR_PAGE_MODEL), uploads.Upload("doc.pdf", one_page_pdf())
        )
    assert (refused.value.status, refused.value.code) == (503, "ocr_unavailable")
    assert "ara.traineddata" in refused.value.message
    assert not OcrJob.objects.exists()
    assert Wallet.objects.get(organization__personal_for=alice).held_usd == 0


def test_the_portal_page_says_so(client, alice, no_arabic_data):
    client.force_login(alice)
    response = client.get("/ocr/")
    assert response.status_code == HTTPStatus.OK
    assert b'data-testid="ocr-unavailable"' in response.content


def test_a_page_failing_for_want_of_the_engine_says_a_retry_cannot_help(
    alice, ocr_model, monkeypatch
):
    fund(alice)
    monkeypatch.setattr(tasks.process_page, "apply_async", lambda *a, **k: None)
    job = uploads.start_ocr_job(
        admitted_call(alice, settings.OCR_PAGE_MODEL), uploads.Upload("doc.pdf", one_page_pdf())
    )
    monkeypatch.setattr(availability.engine, "engine_problem", lambda: "no ara.traineddata in /x")
    tasks.PageTask().on_failure(RuntimeError("boom"), "id", (job.pk, 1, job.attempt), {}, None)
    page = job.pages.get()
    assert "retrying will not help" in page.error and "ara.traineddata" in page.error
