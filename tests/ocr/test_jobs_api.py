"""The OCR API through the real server, with the real Celery worker reading the pages."""

from __future__ import annotations

import base64
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import httpx
import pytest
from django.utils import timezone

from billing.models import Hold, Wallet
from ocr import lifecycle, pages, storage
from ocr.engine import cer
from ocr.models import OcrJob
from tests.ocr import pdfgen
from tests.ocr.conftest import (
    ARABIC,
    ENGLISH,
    FUNDS,
    MIXED_AR,
    MIXED_EN,
    PAGE_PRICE,
    SERVER_MAX_UPLOAD_MB,
    OcrApi,
    mixed_pdf,
    one_page_pdf,
    png_size,
)
from tests.support.processes import wait_for
from usage.drain import discard_pending_events, drain_usage

pytestmark = pytest.mark.django_db(transaction=True)

RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "code", "param"}
    assert error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


def drain_settlement(request_id: str) -> None:
    """The worker emits a run's usage just after marking the job finished: drain until it is in."""
    from usage.models import UsageRecord

    def recorded() -> bool:
        drain_usage()
        return UsageRecord.objects.filter(request_id=request_id).exists()

    wait_for(recorded, timeout=10, interval=0.1, what=f"the usage record of {request_id}")


def wallet_of(user) -> Wallet:
    return Wallet.objects.get(organization__personal_for=user)


@pytest.mark.slow
def test_a_mixed_pdf_is_read_page_by_page_and_charged_per_page(
    alice, alice_api: OcrApi, celery_worker
):
    discard_pending_events()
    response = alice_api.upload(mixed_pdf(), "mixed.pdf")
    assert response.status_code == HTTPStatus.OK, response.text
    for header in RATE_HEADERS:
        assert header in response.headers
    body = response.json()
    assert set(body) == {"token", "status", "progress", "upload_progress", "queue_position"}
    assert body["status"] == "queued"
    assert body["progress"] == 0
    assert body["upload_progress"] == 100
    assert body["queue_position"] >= 1
    token = body["token"]
    held = wallet_of(alice).held_usd
    assert held == 3 * PAGE_PRICE

    job = alice_api.wait_finished(token)
    assert job["status"] == "done", job
    assert job["progress"] == 100
    assert job["filename"] == "mixed.pdf"
    assert job["total_pages"] == 3
    assert job["error"] is None
    assert job["retryable"] is False
    assert job["retry_count"] == 0
    assert job["expires_at"].endswith("Z")
    pages = job["pages"]
    assert [p["page_num"] for p in pages] == [1, 2, 3]
    for page in pages:
        assert {"page_num", "text", "num_segments", "elapsed"} <= set(page)
        assert page["num_segments"] >= 1
        assert page["elapsed"] > 0
        assert page["path"] == "ocr"
    assert cer(ENGLISH, pages[0]["text"]) < 0.05, pages[0]["text"]
    assert cer(ARABIC, pages[1]["text"]) < 0.1, pages[1]["text"]
    assert pages[0]["language"] == "eng"
    assert pages[1]["language"] == "ara"
    assert "poetry" in pages[2]["text"] and "القراءة" in pages[2]["text"]
    assert cer(f"{MIXED_EN}\n{MIXED_AR}", pages[2]["text"]) < 0.1

    # Thumbnails and images: data URIs without object storage.
    thumbs = alice_api.get(f"/ocr/thumbnails/{token}", start=0, limit=2).json()
    assert thumbs["start"] == 0 and thumbs["end"] == 2
    assert thumbs["total_pages"] == 3 and thumbs["has_more"] is True
    assert [t["page_num"] for t in thumbs["thumbnails"]] == [1, 2]
    for item in thumbs["thumbnails"]:
        prefix = "data:image/png;base64,"
        assert item["data"].startswith(prefix)
        width, _ = png_size(base64.b64decode(item["data"][len(prefix) :]))
        assert width == 200
    rest = alice_api.get(f"/ocr/images/{token}", start=2, limit=10).json()
    assert rest["has_more"] is False and rest["end"] == 3
    assert [i["page_num"] for i in rest["images"]] == [3]
    data = base64.b64decode(rest["images"][0]["data"].split(",", 1)[1])
    assert png_size(data) == (pages[2]["width"], pages[2]["height"])

    # One page, with signed links served by Portico.
    page = alice_api.get(f"/ocr/jobs/{token}/2").json()
    assert page["page_num"] == 2 and page["status"] == "done"
    assert page["text"] == pages[1]["text"]
    assert page["language"] == "ara" and page["path"] == "ocr"
    assert {"skew_angle", "rotation", "segments", "num_segments", "elapsed"} <= set(page)
    lines = [s for s in page["segments"] if s["kind"] == "line"]
    assert len(lines) == page["num_segments"]
    x0, y0, x1, y1 = lines[0]["bbox"]
    assert 0 <= x0 < x1 <= page["width"] and 0 <= y0 < y1 <= page["height"]
    image = httpx.get(page["image"]["url"])
    assert image.status_code == HTTPStatus.OK
    assert png_size(image.content) == (page["width"], page["height"])
    thumbnail = httpx.get(page["thumbnail"]["url"])
    assert png_size(thumbnail.content)[0] == 200
    tampered = page["image"]["url"][:-3] + (
        "aaa" if not page["image"]["url"].endswith("aaa") else "bbb"
    )
    assert httpx.get(tampered).status_code == HTTPStatus.FORBIDDEN

    # The wallet pays exactly pages × price once the usage is drained.
    drain_settlement(f"ocr_{token}_0")
    wallet = wallet_of(alice)
    assert wallet.balance_usd == FUNDS - 3 * PAGE_PRICE
    assert wallet.held_usd == 0
    assert not Hold.objects.filter(status=Hold.Status.OPEN).exists()
    from usage.models import UsageRecord

    record = UsageRecord.objects.get(request_id=f"ocr_{token}_0")
    assert (record.source, record.endpoint, record.model) == ("ocr", "ocr", "portico/ocr")
    assert record.units == 3
    assert record.cost_usd == 3 * PAGE_PRICE


BAD_INPUTS = {
    "not_pdf": (pdfgen.not_a_pdf, HTTPStatus.BAD_REQUEST),
    "truncated": (pdfgen.truncated_pdf, HTTPStatus.BAD_REQUEST),
    "encrypted": (pdfgen.encrypted_pdf, HTTPStatus.BAD_REQUEST),
    "zero_pages": (pdfgen.zero_page_pdf, HTTPStatus.BAD_REQUEST),
    "too_many_pages": (lambda: pdfgen.many_pages_pdf(600), HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
    "one_point_page": (pdfgen.tiny_page_pdf, HTTPStatus.BAD_REQUEST),
    "decompression_bomb": (pdfgen.flate_bomb_pdf, HTTPStatus.BAD_REQUEST),
}
EXPECTED_CODES = {
    "not_pdf": "not_pdf",
    "truncated": "corrupt",
    "encrypted": "encrypted",
    "zero_pages": "no_pages",
    "too_many_pages": "too_many_pages",
    "one_point_page": "page_too_small",
    "decompression_bomb": "page_too_large",
}


def stored_jobs() -> set[str]:
    """Job folders in storage (other tests' folders stay behind: compare before/after)."""
    try:
        return set(storage.default_storage.listdir("ocr")[0])
    except FileNotFoundError:
        return set()


def test_bad_pdfs_are_refused_before_anything_is_held_or_queued(alice, alice_api: OcrApi):
    before = stored_jobs()
    for name, (make, status) in BAD_INPUTS.items():
        response = alice_api.upload(make(), f"{name}.pdf")
        error = assert_error(response, status, EXPECTED_CODES[name])
        assert error["param"] == "file"
        assert error["type"] == "invalid_request_error" or status == 413
        for header in RATE_HEADERS:
            assert header in response.headers
    wallet = wallet_of(alice)
    assert (wallet.balance_usd, wallet.held_usd) == (FUNDS, 0)
    assert not Hold.objects.exists()
    assert not OcrJob.objects.exists()
    assert stored_jobs() == before


def test_an_upload_over_the_size_cap_is_413(alice, alice_api: OcrApi):
    data = mixed_pdf() + b"%" + b"x" * (SERVER_MAX_UPLOAD_MB * 1024 * 1024)
    assert_error(alice_api.upload(data), HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request_too_large")
    assert wallet_of(alice).held_usd == 0
    assert not OcrJob.objects.exists()


def test_the_upload_wants_multipart_with_a_file(alice_api: OcrApi):
    with alice_api.client() as http:
        assert_error(
            http.post("/ocr/upload", json={"file": "x"}),
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        missing = http.post("/ocr/upload", files={"document": ("a.pdf", b"%PDF-1.4")})
        garbled = http.post(
            "/ocr/upload",
            content=b"--nope\r\nnot a part",
            headers={"Content-Type": "multipart/form-data"},
        )
    assert_error(garbled, HTTPStatus.BAD_REQUEST, "invalid_body")
    error = assert_error(missing, HTTPStatus.UNPROCESSABLE_ENTITY, "missing_required_parameter")
    assert error["param"] == "file"


def test_an_upload_the_wallet_cannot_cover_is_402(charlie, ocr_model, ocr_server):
    from tests.ocr.conftest import key_for

    api = OcrApi(ocr_server.url, key_for(charlie))
    before = stored_jobs()
    error = assert_error(api.upload(one_page_pdf()), HTTPStatus.PAYMENT_REQUIRED)
    assert error["code"] == "insufficient_balance"
    assert not OcrJob.objects.exists()
    assert stored_jobs() == before


def test_a_key_without_the_ocr_scope_is_403(alice, ocr_model, ocr_server):
    from tests.ocr.conftest import key_for

    api = OcrApi(ocr_server.url, key_for(alice, scopes=["chat"]))
    assert_error(api.upload(one_page_pdf()), HTTPStatus.FORBIDDEN, "missing_scope")
    assert_error(api.get("/ocr/jobs/whatever"), HTTPStatus.FORBIDDEN, "missing_scope")


def test_another_users_job_is_404_everywhere(alice_api: OcrApi, bob, make_job):
    job = make_job(bob)
    for path in (
        f"/ocr/jobs/{job.token}",
        f"/ocr/jobs/{job.token}/1",
        f"/ocr/thumbnails/{job.token}",
        f"/ocr/images/{job.token}",
    ):
        response = alice_api.get(path)
        assert_error(response, HTTPStatus.NOT_FOUND, "job_not_found")
        for header in RATE_HEADERS:
            assert header in response.headers
    assert_error(alice_api.post(f"/ocr/jobs/{job.token}/retry"), HTTPStatus.NOT_FOUND)
    assert_error(alice_api.get("/ocr/jobs/no-such-token"), HTTPStatus.NOT_FOUND)


def test_page_numbers_and_media_limits_are_checked(alice, alice_api: OcrApi, make_job):
    job = make_job(alice, pages=2)
    assert_error(alice_api.get(f"/ocr/jobs/{job.token}/0"), HTTPStatus.BAD_REQUEST)
    assert_error(alice_api.get(f"/ocr/jobs/{job.token}/3"), HTTPStatus.NOT_FOUND, "page_not_found")
    assert_error(alice_api.get(f"/ocr/jobs/{job.token}/abc"), HTTPStatus.BAD_REQUEST)
    for kind in ("thumbnails", "images"):
        assert_error(alice_api.get(f"/ocr/{kind}/{job.token}", limit=51), HTTPStatus.BAD_REQUEST)
        assert_error(alice_api.get(f"/ocr/{kind}/{job.token}", limit=0), HTTPStatus.BAD_REQUEST)
        assert_error(alice_api.get(f"/ocr/{kind}/{job.token}", start=-1), HTTPStatus.BAD_REQUEST)


def test_a_pending_page_has_no_image_yet(alice, alice_api: OcrApi, make_job):
    job = make_job(alice, status=OcrJob.Status.PROCESSING, pages=2)
    page = alice_api.get(f"/ocr/jobs/{job.token}/1").json()
    assert page["status"] == "pending"
    assert page["image"] is None and page["thumbnail"] is None
    status = alice_api.get(f"/ocr/jobs/{job.token}").json()
    assert status["status"] == "processing" and status["pages"] == []
    assert status["queue_position"] >= 1


# --- Retry ------------------------------------------------------------------------------
def test_retry_refuses_done_running_copyless_unfixable_and_capped_jobs(
    alice, alice_api: OcrApi, make_job
):
    done = make_job(alice)
    assert_error(alice_api.post(f"/ocr/jobs/{done.token}/retry"), HTTPStatus.CONFLICT, "job_done")
    running = make_job(alice, status=OcrJob.Status.PROCESSING)
    assert_error(
        alice_api.post(f"/ocr/jobs/{running.token}/retry"), HTTPStatus.CONFLICT, "job_in_progress"
    )
    copyless = make_job(
        alice, status=OcrJob.Status.ERROR, error_code=pages.TRANSIENT, retryable=True
    )
    assert_error(
        alice_api.post(f"/ocr/jobs/{copyless.token}/retry"),
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "no_retryable_copy",
    )
    unfixable = make_job(
        alice, status=OcrJob.Status.ERROR, pdf=one_page_pdf(), error_code="render_failed"
    )
    assert_error(
        alice_api.post(f"/ocr/jobs/{unfixable.token}/retry"),
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "not_retryable",
    )
    capped = make_job(
        alice,
        status=OcrJob.Status.ERROR,
        pdf=one_page_pdf(),
        error_code=pages.TRANSIENT,
        retryable=True,
        retry_count=3,
    )
    response = alice_api.post(f"/ocr/jobs/{capped.token}/retry")
    assert_error(response, HTTPStatus.TOO_MANY_REQUESTS, "retry_cap_reached")
    assert response.json()["error"]["type"] == "rate_limit_error"
    assert wallet_of(alice).held_usd == 0


@pytest.mark.slow
def test_a_retry_reads_the_failed_pages_again_from_the_stored_original(
    alice, alice_api: OcrApi, make_job, celery_worker
):
    discard_pending_events()
    job = make_job(
        alice,
        status=OcrJob.Status.ERROR,
        pages=1,
        pdf=one_page_pdf(),
        error_code=pages.TRANSIENT,
        retryable=True,
        error="1 of 1 pages failed.",
    )
    original = storage.read_bytes(job.original_name)
    response = alice_api.post(f"/ocr/jobs/{job.token}/retry")
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.json() == {"token": job.token, "status": "pending", "retry_count": 1}
    assert wallet_of(alice).held_usd == PAGE_PRICE

    body = alice_api.wait_finished(job.token)
    assert body["status"] == "done" and body["retry_count"] == 1
    assert "library" in body["pages"][0]["text"]
    assert storage.read_bytes(job.original_name) == original
    drain_settlement(f"ocr_{job.token}_1")
    wallet = wallet_of(alice)
    assert (wallet.balance_usd, wallet.held_usd) == (FUNDS - PAGE_PRICE, 0)
    assert not Hold.objects.filter(request_id=f"ocr_{job.token}_1", status="open").exists()


# --- Expiry -------------------------------------------------------------------------------
def test_an_expired_job_is_410_everywhere_and_its_files_are_deleted(
    alice, alice_api: OcrApi, make_job
):
    job = make_job(alice, pdf=one_page_pdf(), pages=1)
    page_png = storage.save_bytes(storage.page_file_name(job.token, 1, "page"), b"png")
    job.pages.update(image_name=page_png, thumbnail_name=page_png)
    signed = alice_api.get(f"/ocr/jobs/{job.token}/1").json()["image"]["url"]
    OcrJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    def all_gone() -> None:
        for path in (
            f"/ocr/jobs/{job.token}",
            f"/ocr/jobs/{job.token}/1",
            f"/ocr/thumbnails/{job.token}",
            f"/ocr/images/{job.token}",
        ):
            assert_error(alice_api.get(path), HTTPStatus.GONE, "gone")
        assert_error(alice_api.post(f"/ocr/jobs/{job.token}/retry"), HTTPStatus.GONE, "gone")
        assert httpx.get(signed).status_code == HTTPStatus.GONE

    all_gone()
    assert lifecycle.expire_ocr_jobs() == 1
    assert not storage.exists(job.original_name)
    assert not storage.exists(page_png)
    job.refresh_from_db()
    assert job.purged_at is not None and not job.pages.exists()
    all_gone()
    assert lifecycle.expire_ocr_jobs() == 0


def test_the_queue_position_counts_the_jobs_ahead(alice, alice_api: OcrApi, make_job):
    make_job(alice, status=OcrJob.Status.QUEUED)
    make_job(alice, status=OcrJob.Status.PROCESSING)
    make_job(alice, status=OcrJob.Status.DONE)
    body = alice_api.upload(one_page_pdf()).json()
    assert body["queue_position"] == 3
    assert wallet_of(alice).held_usd == PAGE_PRICE
    OcrJob.objects.update(expires_at=timezone.now())  # expiry gives an open hold back
    lifecycle.expire_ocr_jobs()
    assert wallet_of(alice).held_usd == Decimal(0)


def test_a_chunked_upload_is_read_whole(alice, alice_api: OcrApi):
    """No Content-Length (Transfer-Encoding: chunked): the upload is still one PDF."""
    boundary = "portico-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="doc.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + one_page_pdf()
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunks():
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    with alice_api.client() as http:
        response = http.post(
            "/ocr/upload",
            content=chunks(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.json()["status"] == "queued"
