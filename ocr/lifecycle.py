"""After a run: retries (asked for by the user, or automatic with backoff) and expiry.

A retry is a new run of the same job (``ocr_<token>_<attempt>``) holding only the pages
still to do; expiry deletes a job's files and pages once ``OCR_RETENTION`` has passed,
keeping the row so its token answers 410.
"""

from __future__ import annotations

import contextlib
import logging

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.snapshots import payer_context
from billing.holds import release_hold
from ground.errors import ApiError
from ocr import queueing, storage
from ocr.availability import check_engine_available
from ocr.jobs import owned_job
from ocr.models import OcrJob, OcrPage
from ocr.pages import TRANSIENT
from ocr.queueing import QUEUE_ERRORS, queue_unavailable
from ocr.settlement import hold_pages, settle_read_pages

log = logging.getLogger(__name__)


def retry_ocr_job(token: str, owner_id: int, *, automatic: bool = False) -> OcrJob:
    """Run a failed job's unfinished pages again from the stored original."""
    check_engine_available()
    with transaction.atomic():
        job = owned_job(token, owner_id, for_update=True)
        check_retryable(job)
        with contextlib.suppress(FileNotFoundError):  # a new run, a new searchable PDF
            default_storage.delete(storage.searchable_name(job.token))
        remaining = job.total_pages - job.pages_done
        job.attempt += 1
        job.retry_count += 1
        payer = payer_context(job.owner_id, job.api_key_id)
        if payer is None:
            raise ApiError(404, "No such OCR job.", code="not_found")
        hold_pages(payer, job.request_id, remaining * job.unit_price_usd)
        OcrPage.objects.filter(job=job, status=OcrPage.Status.ERROR).update(
            status=OcrPage.Status.PENDING, error="", error_code="", finished_at=None
        )
        job.status = OcrJob.Status.QUEUED
        job.pages_failed = 0
        job.error, job.error_code, job.retryable = "", "", False
        job.next_retry_at = job.finished_at = None
        job.save()
    pending = OcrPage.objects.filter(job=job, status=OcrPage.Status.PENDING)
    try:
        queueing.queue_pages(job, pending.values_list("page_num", flat=True))
    except QUEUE_ERRORS as exc:
        log.error("Could not queue the retry of OCR job %s: %s", job.token, exc)
        undo_retry(job)
        raise queue_unavailable() from None
    log.info(
        "OCR job %s retried (%s, run %s)", job.token, "auto" if automatic else "manual", job.attempt
    )
    return job


def check_retryable(job: OcrJob) -> None:
    if job.status == OcrJob.Status.DONE:
        raise ApiError(409, "This job is already done; there is nothing to retry.", code="job_done")
    if job.status != OcrJob.Status.ERROR:
        raise ApiError(
            409, "This job is still being processed; retry it if it fails.", code="job_in_progress"
        )
    if not job.retryable and job.error_code != TRANSIENT:
        raise ApiError(
            422,
            f"This job failed on a problem in the PDF itself ({job.error}); retrying cannot "
            "help. Fix the file and upload it again.",
            code="not_retryable",
        )
    if not storage.exists(job.original_name):
        raise ApiError(
            422,
            "This job has no stored copy of its file to retry from. Upload the document again.",
            code="no_retryable_copy",
        )
    if job.retry_count >= settings.OCR_RETRY_CAP:
        raise ApiError(
            429,
            f"This job was retried {job.retry_count} times, the limit. Upload the document again.",
            code="retry_cap_reached",
        )


def undo_retry(job: OcrJob) -> None:
    """Queuing failed: give the hold back and leave the job failed and retryable.

    The run number moves on so a page task that did get queued finds itself stale.
    """
    release_hold(job.request_id)
    with transaction.atomic():
        OcrJob.objects.filter(pk=job.pk).update(
            status=OcrJob.Status.ERROR,
            attempt=F("attempt") + 1,
            billed_attempt=F("attempt") + 1,
            retry_count=F("retry_count") - 1,
            retryable=True,
            error="The OCR workers' queue could not be reached. Try again shortly.",
            error_code="queue_unavailable",
            finished_at=timezone.now(),
        )


def retry_failed_jobs() -> int:
    """Automatic retries of failed, retryable jobs whose backoff has passed."""
    now = timezone.now()
    due = (
        OcrJob.objects.own()
        .filter(
            status=OcrJob.Status.ERROR,
            retryable=True,
            next_retry_at__lte=now,
            retry_count__lt=settings.OCR_RETRY_CAP,
            expires_at__gt=now,
            purged_at__isnull=True,
        )
        .values_list("token", "owner_id")[:100]
    )
    retried = 0
    for token, owner_id in due:
        try:
            retry_ocr_job(token, owner_id, automatic=True)
            retried += 1
        except ApiError as exc:
            log.warning("Automatic retry of OCR job %s refused: %s", token, exc.message)
            OcrJob.objects.filter(token=token).update(next_retry_at=None)
    return retried


def expire_ocr_jobs(limit: int = 500) -> int:
    """Delete expired jobs' files and page data; the job row stays so the token answers 410.
    A run that never finished has the pages it read charged in the same transaction."""
    now = timezone.now()
    expired = list(
        OcrJob.objects.own()  # a reading for another app is taken or stopped by it
        .filter(expires_at__lte=now, purged_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for job_id in expired:
        with transaction.atomic():
            job = (
                OcrJob.objects.select_for_update().filter(pk=job_id, purged_at__isnull=True).first()
            )
            if job is None:
                continue
            settle_read_pages(job, "job_expired")
            OcrPage.objects.filter(job=job).delete()
            OcrJob.objects.filter(pk=job.pk).update(
                purged_at=now, original_name="", next_retry_at=None, billed_attempt=job.attempt
            )
        storage.delete_tree(storage.job_folder(job.token))
    if expired:
        log.info("Expired %s OCR jobs", len(expired))
    return len(expired)
