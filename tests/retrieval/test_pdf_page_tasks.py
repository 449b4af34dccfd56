# ruff: noqa: F811 - the OCR tests' fixtures are imported to be used here
"""A PDF ingested into a collection is read by OCR's per-page Celery tasks (one task per
page, with their retries, OCR's sweep of lost pages, per-page failure), handed back to
retrieval when every page is read, and charged once for the pages read, under the
ingest's request id. Tasks run inline (eager) here, except where real workers read in
parallel."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from http import HTTPStatus

import pytest
from celery.signals import task_prerun
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from billing.models import Hold, Wallet
from ocr import engine, queueing, tasks
from ocr.models import OcrJob, OcrPage
from portal.celery import app as celery_app
from retrieval import api, collections, documents, indexing, ingest
from retrieval.models import Document, Page
from tests.ocr import pdfgen
from tests.ocr.conftest import (  # noqa: F401 - ocr_model is a fixture
    ENGLISH,
    FUNDS,
    PAGE_PRICE,
    fund,
    mixed_pdf,
    ocr_model,
    small_page,
)
from tests.support.admission import admitted_call
from tests.support.processes import CeleryWorker, child_env, wait_for
from usage.drain import discard_pending_events, drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _quick(settings):
    settings.OCR_DPI = 100  # the plumbing is under test, not the reading
    discard_pending_events()


@pytest.fixture
def funded_alice(alice, ocr_model):
    fund(alice)
    return alice


@pytest.fixture
def inline_retries(monkeypatch):
    """Eager tasks retry inline only when failures are not re-raised at once."""
    from portal.celery import app

    monkeypatch.setitem(app.conf, "task_eager_propagates", False)


@pytest.fixture
def tasks_run():
    """The names of the Celery tasks that ran during the test, in order."""
    names: list[str] = []

    def seen(sender=None, **kwargs) -> None:
        names.append(sender.name)

    task_prerun.connect(seen, weak=False)
    try:
        yield names
    finally:
        task_prerun.disconnect(seen)


def ingest_pdf(user, data: bytes | None = None) -> tuple[str, Document]:
    cid = collections.create_collection(user).collection_id
    call = admitted_call(user, settings.RETRIEVAL_MODEL, settings.OCR_PAGE_MODEL)
    doc = ingest.ingest_file(
        user, cid, "scan.pdf", "application/pdf", data or mixed_pdf(), charge=api.pdf_charge(call)
    )
    return cid, doc


def reading_of(doc: Document) -> OcrJob:
    return OcrJob.objects.get(source=OcrJob.Source.RETRIEVAL, reference=doc.doc_id)


def assert_charged_once(user, doc: Document, pages: int, status: str, code: str = "") -> None:
    drain_usage()
    request_id = Document.objects.get(pk=doc.pk).billing_request_id
    record = UsageRecord.objects.get(request_id=request_id)
    assert (record.source, record.endpoint, record.model) == (
        "alretrieval",
        "alretrieval.ingest",
        settings.OCR_PAGE_MODEL,
    )
    assert (record.units, record.cost_usd, record.status, record.error_code) == (
        pages,
        PAGE_PRICE * pages,
        status,
        code,
    )
    assert not UsageRecord.objects.filter(request_id__startswith="ocr_").exists()
    assert Hold.objects.get(request_id=request_id).status != Hold.Status.OPEN
    wallet = Wallet.objects.get(organization__personal_for=user)
    assert (wallet.balance_usd, wallet.held_usd) == (FUNDS - PAGE_PRICE * pages, 0)


def lose_the_page_tasks(monkeypatch) -> None:
    """The broker swallows the page tasks (a worker died with them, a queue was flushed)."""
    monkeypatch.setattr(tasks.process_page, "apply_async", lambda *args, **kwargs: None)


def test_a_pdfs_pages_are_read_by_ocrs_page_tasks_then_indexed_and_charged_once(
    funded_alice, tasks_run
):
    cid, doc = ingest_pdf(funded_alice)
    assert tasks_run.count("ocr.tasks.process_page") == 3  # one task per page
    assert tasks_run[-1] == "retrieval.tasks.index_document"  # handed back, then indexed
    status = documents.document_status(funded_alice, cid, doc.doc_id)
    assert (status["status"], status["pages"], status["pages_read"]) == ("ready", 3, 3)
    pages = list(Page.objects.filter(document=doc).order_by("number"))
    assert [p.number for p in pages] == [1, 2, 3]
    assert "library" in pages[0].text.lower() and pages[0].blocks == [["p", pages[0].text]]
    # The reading is taken with its pages: no OCR job of alice's is left, none listed.
    assert not OcrJob.objects.exists() and not OcrPage.objects.exists()
    assert_charged_once(funded_alice, doc, 3, "ok")


def test_the_reading_is_not_the_users_ocr_job(funded_alice, monkeypatch):
    lose_the_page_tasks(monkeypatch)
    cid, doc = ingest_pdf(funded_alice)
    job = reading_of(doc)
    assert job.serving and job.owner_id == funded_alice.pk
    assert not OcrJob.objects.own().exists()  # neither /v1/ocr nor the OCR page lists it
    assert Document.objects.get(pk=doc.pk).status == Document.Status.QUEUED
    status = documents.document_status(funded_alice, cid, doc.doc_id)
    assert (status["status"], status["pages"], status["pages_read"]) == ("processing", 3, 0)


def test_progress_shows_the_pages_read_so_far(funded_alice, monkeypatch, client):
    lose_the_page_tasks(monkeypatch)
    cid, doc = ingest_pdf(funded_alice)
    job = reading_of(doc)
    monkeypatch.undo()
    tasks.process_page.apply(args=(job.pk, 2, 0))
    status = documents.document_status(funded_alice, cid, doc.doc_id)
    assert (status["status"], status["pages_read"], status["pages"]) == ("processing", 1, 3)
    client.force_login(funded_alice)
    page = client.get(reverse("retrieval-documents", args=[cid]))  # what the page polls
    assert page.status_code == HTTPStatus.OK
    assert "1 of 3 pages read" in page.content.decode()
    tasks.process_page.apply(args=(job.pk, 1, 0))
    tasks.process_page.apply(args=(job.pk, 3, 0))  # the last page hands the reading back
    status = documents.document_status(funded_alice, cid, doc.doc_id)
    assert (status["status"], status["pages_read"]) == ("ready", 3)
    assert_charged_once(funded_alice, doc, 3, "ok")


class FlakyEngine:
    """``process_page`` that fails on ``page`` (0-based) ``failures`` times, then reads."""

    def __init__(self, page: int, failures: int) -> None:
        self.page, self.failures, self.calls = page, failures, 0
        self.real = engine.process_page

    def __call__(self, source, page_index, **kwargs):
        if page_index == self.page:
            self.calls += 1
            if self.calls <= self.failures:
                raise OSError("storage hiccup")
        return self.real(source, page_index, **kwargs)


def test_a_page_failing_once_is_retried_by_its_task(funded_alice, monkeypatch, inline_retries):
    flaky = FlakyEngine(page=1, failures=1)
    monkeypatch.setattr(engine, "process_page", flaky)
    cid, doc = ingest_pdf(funded_alice)
    assert flaky.calls == 2  # the failure, then its task's retry
    assert documents.document_status(funded_alice, cid, doc.doc_id)["status"] == "ready"
    assert Page.objects.filter(document=doc).count() == 3
    assert_charged_once(funded_alice, doc, 3, "ok")


def test_a_page_failing_for_good_fails_the_document_and_charges_the_pages_read(
    funded_alice, monkeypatch, inline_retries
):
    broken = FlakyEngine(page=1, failures=100)
    monkeypatch.setattr(engine, "process_page", broken)
    cid, doc = ingest_pdf(funded_alice)
    assert broken.calls == 4  # the first try and its task's three retries
    status = documents.document_status(funded_alice, cid, doc.doc_id)
    assert status["status"] == "error"
    assert status["error"].startswith("Reading the PDF failed. 1 of 3 pages failed. Page 2:")
    assert "4 times" in status["error"]
    assert not Page.objects.filter(document=doc).exists()
    assert not OcrJob.objects.exists(), "not retried as a new run: the reading is taken"
    assert_charged_once(funded_alice, doc, 2, "error", "ingest_failed")


def test_lost_page_tasks_are_queued_again_and_nothing_is_charged_twice(funded_alice, monkeypatch):
    lose_the_page_tasks(monkeypatch)
    cid, doc = ingest_pdf(funded_alice)
    job = reading_of(doc)
    # Page 1 was taken by a worker that was killed; the others never left the queue.
    OcrPage.objects.filter(job=job, page_num=1).update(started_at=timezone.now())
    later = timezone.now() + timedelta(seconds=settings.RETRIEVAL_LOST_SECONDS + 1)
    assert indexing.sweep_documents(now=later) == 0  # still being read: not lost
    row = Document.objects.get(pk=doc.pk)
    assert (row.status, row.requeues) == (Document.Status.QUEUED, 0)

    monkeypatch.undo()  # the broker works again
    assert queueing.requeue_lost_pages(now=later) == 3  # run inline (eager)
    assert documents.document_status(funded_alice, cid, doc.doc_id)["status"] == "ready"
    assert Page.objects.filter(document=doc).count() == 3
    # A copy of a lost task delivered late finds the reading taken and does nothing.
    tasks.process_page.apply(args=(job.pk, 1, 0))
    assert_charged_once(funded_alice, doc, 3, "ok")


def test_deleting_the_document_mid_read_stops_its_pages_and_charges_what_was_read(
    funded_alice, monkeypatch, tasks_run
):
    lose_the_page_tasks(monkeypatch)
    cid, doc = ingest_pdf(funded_alice)
    job = reading_of(doc)
    monkeypatch.undo()
    tasks.process_page.apply(args=(job.pk, 1, 0))  # one page read, two still queued
    documents.delete_document(funded_alice, cid, doc.doc_id)
    assert not OcrJob.objects.exists() and not OcrPage.objects.exists()
    tasks.process_page.apply(args=(job.pk, 2, 0))  # a queued page finds its reading gone
    tasks.process_page.apply(args=(job.pk, 3, 0))
    assert "retrieval.tasks.index_document" not in tasks_run
    request_id = doc.billing_request_id
    # Charged in the deleting transaction: the hold is closed before any drain.
    assert Wallet.objects.get(organization__personal_for=funded_alice).held_usd == 0
    assert Hold.objects.get(request_id=request_id).status == Hold.Status.SETTLED
    drain_usage()
    record = UsageRecord.objects.get(request_id=request_id)
    assert (record.units, record.cost_usd, record.status, record.error_code) == (
        1,
        PAGE_PRICE,
        "cancelled",
        "document_deleted",
    )
    assert (
        Wallet.objects.get(organization__personal_for=funded_alice).balance_usd
        == FUNDS - PAGE_PRICE
    )


def test_a_finished_reading_whose_hand_back_was_lost_is_taken_by_the_sweep(
    funded_alice, monkeypatch
):
    from retrieval import pdfreading

    monkeypatch.setattr(pdfreading, "queue_indexing", lambda pk: None)  # the hand-back lost
    cid, doc = ingest_pdf(funded_alice)
    assert reading_of(doc).status == OcrJob.Status.DONE
    monkeypatch.undo()
    later = timezone.now() + timedelta(seconds=settings.RETRIEVAL_LOST_SECONDS + 1)
    assert indexing.sweep_documents(now=later) == 1
    assert documents.document_status(funded_alice, cid, doc.doc_id)["status"] == "ready"
    assert_charged_once(funded_alice, doc, 3, "ok")


def test_re_indexing_a_pdf_whose_reading_is_gone_fails_clearly(funded_alice, monkeypatch):
    lose_the_page_tasks(monkeypatch)
    cid, doc = ingest_pdf(funded_alice)
    OcrJob.objects.filter(pk=reading_of(doc).pk).delete()  # lost with its pages
    monkeypatch.undo()
    documents.reindex_document(funded_alice, cid, doc.doc_id)
    status = documents.document_status(funded_alice, cid, doc.doc_id)
    assert status["status"] == "error" and "Ingest the document again" in status["error"]
    assert_charged_once(funded_alice, doc, 0, "error", "ingest_failed")


def test_ocrs_sweeps_leave_a_reading_to_retrieval(funded_alice, monkeypatch):
    """Not settled, retried or expired by OCR: the reading's pages are retrieval's to charge."""
    from ocr import lifecycle, settlement

    lose_the_page_tasks(monkeypatch)
    _, doc = ingest_pdf(funded_alice)
    job = reading_of(doc)
    OcrJob.objects.filter(pk=job.pk).update(
        status=OcrJob.Status.ERROR,
        retryable=True,
        next_retry_at=timezone.now(),
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert settlement.settle_unbilled_jobs() == 0
    assert lifecycle.retry_failed_jobs() == 0
    assert lifecycle.expire_ocr_jobs() == 0
    assert OcrJob.objects.get(pk=job.pk).purged_at is None
    drain_usage()
    assert not UsageRecord.objects.exists()


@pytest.mark.usefixtures("no_shared_worker")
def test_real_workers_read_the_pages_in_parallel_and_the_status_shows_progress(funded_alice):
    names = ["harbour", "lighthouse", "keeper", "ships", "northern", "dawn"]
    pdf = pdfgen.image_pdf([small_page(f"The {name}. {ENGLISH}") for name in names], dpi=200)
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()  # tasks earlier tests left for no worker: not counted here
    env = child_env(CELERY_TASK_ALWAYS_EAGER="0", MEDIA_ROOT=str(settings.MEDIA_ROOT))
    workers = [CeleryWorker(env) for _ in range(2)]
    try:
        for worker in workers:
            worker.wait_ready()
        cid, doc = ingest_pdf(funded_alice, pdf)
        seen: list[int] = []

        def ready() -> bool:
            status = documents.document_status(funded_alice, cid, doc.doc_id)
            assert status["status"] != "error", status
            seen.append(status["pages_read"])
            return status["status"] == "ready"

        wait_for(ready, timeout=300, interval=0.1, what="the workers to read and index the PDF")
        # Each worker read some of the pages: one task per page, taken by whichever is free.
        for worker in workers:
            assert worker.saw("Task ocr.tasks.process_page["), worker.output()
        read_by = [
            sum("ocr.tasks.process_page[" in line and "succeeded" in line for line in w.lines)
            for w in workers
        ]
        assert sum(read_by) == 6 and all(read_by), read_by
    finally:
        celery_app.conf.task_always_eager = True
        for worker in workers:
            worker.stop()
    assert any(0 < n < 6 for n in seen), seen  # progress while it was read
    assert seen == sorted(seen) and seen[-1] == 6
    texts = list(
        Page.objects.filter(document=doc).order_by("number").values_list("text", flat=True)
    )
    assert [name in text.lower() for name, text in zip(names, texts, strict=True)] == [True] * 6
    assert_charged_once(funded_alice, doc, 6, "ok")


@pytest.mark.usefixtures("no_shared_worker")
def test_a_worker_killed_mid_page_has_its_page_read_again_and_charged_once(funded_alice):
    pdf = pdfgen.image_pdf([small_page(f"Page {n}. {ENGLISH}") for n in range(4)], dpi=200)
    celery_app.conf.task_always_eager = False
    env = child_env(CELERY_TASK_ALWAYS_EAGER="0", MEDIA_ROOT=str(settings.MEDIA_ROOT))
    started: list[CeleryWorker] = []
    try:
        first = CeleryWorker(env)
        started.append(first)
        first.wait_ready()
        cid, doc = ingest_pdf(funded_alice, pdf)
        job = reading_of(doc)
        taken = OcrPage.objects.filter(job=job, started_at__isnull=False, status="pending")
        wait_for(taken.exists, timeout=120, interval=0.05, what="a page to be taken")
        os.killpg(first.proc.pid, signal.SIGKILL)  # the worker and its pool, mid-page
        first.proc.wait(timeout=10)
        assert Document.objects.get(pk=doc.pk).status == Document.Status.QUEUED

        lost = max(settings.OCR_PAGE_LOST_SECONDS, settings.OCR_PAGE_STALL_SECONDS)
        later = timezone.now() + timedelta(seconds=lost + 1)
        assert queueing.requeue_lost_pages(now=later) >= 1  # what OCR's sweep does
        second = CeleryWorker(env)
        started.append(second)
        second.wait_ready()
        wait_for(
            lambda: documents.document_status(funded_alice, cid, doc.doc_id)["status"] == "ready",
            timeout=300,
            what="another worker to read the rest and index the document",
        )
    finally:
        celery_app.conf.task_always_eager = True
        for worker in started:
            worker.stop()
    assert Page.objects.filter(document=doc).count() == 4
    assert_charged_once(funded_alice, doc, 4, "ok")
