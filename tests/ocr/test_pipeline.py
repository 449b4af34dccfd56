"""The OCR flows in-process, tasks run inline (eager): retries, failures, money, expiry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.conf import settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from billing.models import Hold, Wallet
from ground.errors import ApiError
from ocr import engine, jobs, lifecycle, pages, queueing, settlement, storage, tasks, uploads
from ocr.models import OcrJob, OcrPage
from tests.ocr.conftest import FUNDS, PAGE_PRICE, fund, mixed_pdf, one_page_pdf
from tests.support.admission import admitted_call
from usage.drain import discard_pending_events, drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
REAL_QUEUE_PAGES = queueing.queue_pages


@pytest.fixture(autouse=True)
def _quick(settings):
    settings.OCR_DPI = 100  # these tests check the plumbing, not the reading
    discard_pending_events()


@pytest.fixture
def inline_retries(monkeypatch):
    """Eager tasks retry inline only when failures are not re-raised at once."""
    from portal.celery import app

    monkeypatch.setitem(app.conf, "task_eager_propagates", False)


@pytest.fixture
def funded_alice(alice, ocr_model):
    fund(alice)
    return alice


def upload(user, data: bytes = b"", **options) -> OcrJob:
    call = admitted_call(user, settings.OCR_PAGE_MODEL)
    return uploads.start_ocr_job(call, uploads.Upload("doc.pdf", data or mixed_pdf()), **options)


def wallet(user) -> Wallet:
    return Wallet.objects.get(organization__personal_for=user)


class FlakyEngine:
    """``process_page`` that raises ``failures`` times (an I/O hiccup), then reads."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or OSError("storage hiccup")
        self.calls = 0
        self.real = engine.process_page

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.real(*args, **kwargs)


def test_an_upload_is_read_inline_and_settled_for_the_pages_read(funded_alice):
    job = upload(funded_alice)
    job.refresh_from_db()
    assert (job.status, job.progress, job.pages_done) == ("done", 100, 3)
    assert job.billed_attempt == 0
    pages = list(job.pages.order_by("page_num"))
    assert all(page.status == OcrPage.Status.DONE for page in pages)
    assert all(storage.exists(page.image_name) for page in pages)
    assert pages[0].thumbnail_name.endswith(f"ocr/{job.token}/pages/1/thumbnail.png")
    assert wallet(funded_alice).held_usd == 3 * PAGE_PRICE
    drain_usage()
    assert wallet(funded_alice).balance_usd == FUNDS - 3 * PAGE_PRICE
    assert wallet(funded_alice).held_usd == 0


def test_a_transient_failure_is_retried_automatically_by_celery(
    funded_alice, monkeypatch, inline_retries
):
    monkeypatch.setattr(queueing, "queue_pages", lambda job, nums: None)
    job = upload(funded_alice, one_page_pdf())
    flaky = FlakyEngine(failures=2)
    monkeypatch.setattr(engine, "process_page", flaky)
    tasks.process_page.apply(args=(job.pk, 1, 0), throw=False)
    job.refresh_from_db()
    assert flaky.calls == 3
    assert job.status == OcrJob.Status.DONE
    assert "library" in job.pages.get().text


def test_a_page_failing_every_try_fails_the_job_retryably_and_settles_the_rest(
    funded_alice, monkeypatch, inline_retries
):
    monkeypatch.setattr(queueing, "queue_pages", lambda job, nums: None)
    job = upload(funded_alice)
    tasks.process_page.apply(args=(job.pk, 1, 0), throw=False)
    tasks.process_page.apply(args=(job.pk, 3, 0), throw=False)
    broken = FlakyEngine(failures=100)
    monkeypatch.setattr(engine, "process_page", broken)
    tasks.process_page.apply(args=(job.pk, 2, 0), throw=False)
    assert broken.calls == 4  # the first try and three retries

    job.refresh_from_db()
    assert job.status == OcrJob.Status.ERROR
    assert job.retryable and job.error_code == pages.TRANSIENT
    assert "Page 2" in job.error
    assert job.progress == 66
    assert job.next_retry_at is not None
    drain_usage()
    assert wallet(funded_alice).balance_usd == FUNDS - 2 * PAGE_PRICE
    assert wallet(funded_alice).held_usd == 0
    record = UsageRecord.objects.get(request_id=f"ocr_{job.token}_0")
    assert (record.units, record.status) == (2, "error")

    # The automatic retry (with backoff) reads page 2 from the stored original.
    monkeypatch.setattr(engine, "process_page", broken.real)
    monkeypatch.setattr(queueing, "queue_pages", REAL_QUEUE_PAGES)
    assert lifecycle.retry_failed_jobs() == 0  # not due yet
    OcrJob.objects.filter(pk=job.pk).update(next_retry_at=timezone.now())
    assert lifecycle.retry_failed_jobs() == 1
    job.refresh_from_db()
    assert (job.status, job.retry_count, job.attempt, job.pages_done) == ("done", 1, 1, 3)
    drain_usage()
    assert wallet(funded_alice).balance_usd == FUNDS - 3 * PAGE_PRICE
    assert wallet(funded_alice).held_usd == 0


def test_the_automatic_retry_backs_off_exponentially(funded_alice, make_job, settings):
    settings.OCR_AUTO_RETRY_SECONDS = 10
    for count, expected in ((0, 10), (1, 20), (2, 40)):
        job = make_job(funded_alice, status=OcrJob.Status.ERROR, retry_count=count)
        OcrPage.objects.filter(job=job).update(error_code=pages.TRANSIENT)
        job.original_name = storage.save_bytes(storage.original_name(job.token), b"%PDF-1.4")
        pages.describe_failure(job)
        delay = (job.next_retry_at - timezone.now()).total_seconds()
        assert expected - 2 < delay <= expected
    job = make_job(funded_alice, status=OcrJob.Status.ERROR, retry_count=3, pdf=b"%PDF-1.4")
    OcrPage.objects.filter(job=job).update(error_code=pages.TRANSIENT)
    pages.describe_failure(job)
    assert job.retryable and job.next_retry_at is None


def test_a_broken_page_fails_for_good_and_cannot_be_retried(funded_alice, monkeypatch):
    monkeypatch.setattr(
        engine,
        "process_page",
        lambda *a, **k: (_ for _ in ()).throw(engine.PdfError("render_failed", "Page 1 is odd.")),
    )
    job = upload(funded_alice, one_page_pdf())
    job.refresh_from_db()
    assert job.status == OcrJob.Status.ERROR
    assert not job.retryable and job.error_code == "render_failed"
    assert job.next_retry_at is None
    with pytest.raises(ApiError) as refused:
        lifecycle.retry_ocr_job(job.token, funded_alice.pk)
    assert (refused.value.status, refused.value.code) == (422, "not_retryable")
    drain_usage()
    assert wallet(funded_alice).balance_usd == FUNDS  # nothing read, nothing charged
    assert wallet(funded_alice).held_usd == 0


def test_the_retry_cap_and_a_missing_original_are_refused(funded_alice, make_job, monkeypatch):
    monkeypatch.setattr(queueing, "queue_pages", lambda job, nums: None)
    job = make_job(
        funded_alice,
        status=OcrJob.Status.ERROR,
        pages=1,
        pdf=one_page_pdf(),
        error_code=pages.TRANSIENT,
        retryable=True,
    )
    for attempt in range(3):
        lifecycle.retry_ocr_job(job.token, funded_alice.pk)
        job.refresh_from_db()
        assert (job.attempt, job.retry_count, job.status) == (attempt + 1, attempt + 1, "queued")
        OcrJob.objects.filter(pk=job.pk).update(
            status=OcrJob.Status.ERROR, retryable=True, error_code=pages.TRANSIENT
        )
    with pytest.raises(ApiError) as capped:
        lifecycle.retry_ocr_job(job.token, funded_alice.pk)
    assert capped.value.status == HTTPStatus.TOO_MANY_REQUESTS
    storage.delete_tree(storage.job_folder(job.token))
    with pytest.raises(ApiError) as copyless:
        lifecycle.retry_ocr_job(job.token, funded_alice.pk)
    assert (copyless.value.status, copyless.value.code) == (422, "no_retryable_copy")


def test_a_queue_outage_refuses_the_upload_and_holds_nothing(funded_alice, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to the broker")

    monkeypatch.setattr(tasks.process_page, "apply_async", down)
    with pytest.raises(ApiError) as refused:
        upload(funded_alice)
    assert (refused.value.status, refused.value.code) == (502, "queue_unavailable")
    assert not OcrJob.objects.exists()
    assert wallet(funded_alice).held_usd == 0
    assert not Hold.objects.filter(status=Hold.Status.OPEN).exists()


def test_a_queue_outage_on_retry_is_502_and_leaves_the_job_retryable(
    funded_alice, make_job, monkeypatch
):
    job = make_job(
        funded_alice,
        status=OcrJob.Status.ERROR,
        pdf=one_page_pdf(),
        pages=1,
        error_code=pages.TRANSIENT,
        retryable=True,
    )

    def down(*args, **kwargs):
        raise OperationalError("broker unreachable")

    monkeypatch.setattr(tasks.process_page, "apply_async", down)
    with pytest.raises(ApiError) as refused:
        lifecycle.retry_ocr_job(job.token, funded_alice.pk)
    assert refused.value.status == HTTPStatus.BAD_GATEWAY
    job.refresh_from_db()
    assert (job.status, job.retryable, job.retry_count) == ("error", True, 0)
    assert wallet(funded_alice).held_usd == 0
    monkeypatch.undo()
    lifecycle.retry_ocr_job(job.token, funded_alice.pk)  # works once the queue is back
    job.refresh_from_db()
    assert (job.status, job.retry_count) == ("done", 1)


def test_an_upload_over_the_cap_is_413_before_it_is_read(funded_alice, settings):
    settings.OCR_MAX_UPLOAD_MB = 0
    with pytest.raises(ApiError) as refused:
        upload(funded_alice)
    assert (refused.value.status, refused.value.code) == (413, "request_too_large")


def test_without_an_enabled_ocr_model_ocr_is_free(alice, transactional_db):
    job = upload(alice, one_page_pdf())
    job.refresh_from_db()
    assert job.status == OcrJob.Status.DONE
    assert job.unit_price_usd == Decimal(0)
    drain_usage()
    record = UsageRecord.objects.get(request_id=f"ocr_{job.token}_0")
    assert (record.units, record.cost_usd) == (1, Decimal(0))


def test_an_ocr_job_cannot_start_without_admission(funded_alice):
    unadmitted = admitted_call(funded_alice)  # admitted for no model at all
    with pytest.raises(RuntimeError, match="without admission"):
        uploads.start_ocr_job(unadmitted, uploads.Upload("doc.pdf", one_page_pdf()))
    assert not OcrJob.objects.exists()


def test_expiry_deletes_files_and_pages_but_keeps_a_tombstone(funded_alice):
    job = upload(funded_alice, one_page_pdf())
    folder = storage.job_folder(job.token)
    assert storage.default_storage.listdir(folder)[1] == ["original.pdf"]
    assert lifecycle.expire_ocr_jobs() == 0
    OcrJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert lifecycle.expire_ocr_jobs() == 1
    job.refresh_from_db()
    assert job.purged_at is not None and job.expired
    assert not OcrPage.objects.filter(job=job).exists()
    assert not storage.exists(storage.original_name(job.token))
    with pytest.raises(FileNotFoundError):
        storage.default_storage.listdir(folder)
    with pytest.raises(ApiError) as gone:
        jobs.owned_job(job.token, funded_alice.pk)
    assert gone.value.status == HTTPStatus.GONE


def test_an_unemitted_settlement_is_emitted_by_the_sweep(funded_alice, monkeypatch):
    real_emit = settlement.emit_sync

    def broken(event):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(settlement, "emit_sync", broken)
    job = upload(funded_alice, one_page_pdf())
    job.refresh_from_db()
    assert (job.status, job.billed_attempt) == ("done", -1)
    monkeypatch.setattr(settlement, "emit_sync", real_emit)
    assert tasks.sweep_jobs() >= 1
    drain_usage()
    assert wallet(funded_alice).balance_usd == FUNDS - PAGE_PRICE
    assert settlement.settle_unbilled_jobs() == 0


def lose_the_tasks(monkeypatch) -> None:
    """The broker swallows the page tasks (a worker died with them, a queue was flushed)."""
    monkeypatch.setattr(tasks.process_page, "apply_async", lambda *args, **kwargs: None)


def test_pages_whose_tasks_were_lost_are_queued_again_by_the_sweep(funded_alice, monkeypatch):
    lose_the_tasks(monkeypatch)
    job = upload(funded_alice, one_page_pdf())
    assert OcrPage.objects.get(job=job).queued_at is not None
    assert queueing.requeue_lost_pages() == 0, "a page just queued is not lost"

    monkeypatch.undo()  # the broker works again
    later = timezone.now() + timedelta(seconds=3601)
    assert queueing.requeue_lost_pages(now=later) == 1  # the real task runs inline (eager)

    job.refresh_from_db()
    page = OcrPage.objects.get(job=job)
    assert (job.status, page.status, page.requeues) == ("done", "done", 1)
    assert page.started_at is not None


def test_a_page_taken_by_a_worker_that_died_is_queued_again(funded_alice, monkeypatch):
    lose_the_tasks(monkeypatch)
    job = upload(funded_alice, one_page_pdf())
    OcrPage.objects.filter(job=job).update(started_at=timezone.now())  # taken, then the worker died
    assert queueing.requeue_lost_pages(now=timezone.now() + timedelta(seconds=60)) == 0
    monkeypatch.undo()  # the broker works again
    assert queueing.requeue_lost_pages(now=timezone.now() + timedelta(seconds=601)) == 1
    assert OcrJob.objects.get(pk=job.pk).status == "done"


def test_a_page_lost_past_the_retry_cap_fails_clearly_and_retryably(
    funded_alice, monkeypatch, settings
):
    lose_the_tasks(monkeypatch)  # the sweep's tasks too
    job = upload(funded_alice, one_page_pdf())
    for attempt in range(settings.OCR_RETRY_CAP + 1):
        at = timezone.now() + timedelta(seconds=3601 * (attempt + 1))
        assert queueing.requeue_lost_pages(now=at) == 1

    job.refresh_from_db()
    page = OcrPage.objects.get(job=job)
    assert (job.status, page.status, page.error_code) == ("error", "error", "task_lost")
    assert "lost" in page.error and "Retrying the job may help" in page.error
    assert job.retryable
    drain_usage()
    assert wallet(funded_alice).held_usd == 0, "the run settled: nothing read, nothing held"
    assert wallet(funded_alice).balance_usd == FUNDS
