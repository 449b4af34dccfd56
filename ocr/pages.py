"""Reading one page of a job's run (the body of ``ocr.tasks.process_page``), failing it,
and the run's end: the last page decides the job's outcome and settles the run.

Failures: a ``PdfError`` is the file's fault and final for that page; any other
exception is transient and Celery retries the page task with exponential backoff. A
run with failed pages ends in ``error``; if every failure was transient (and the
original is still stored) the job is ``retryable``, and :func:`ocr.lifecycle.retry_failed_jobs`
retries it automatically with exponential backoff until ``OCR_RETRY_CAP``.

A job that reads a PDF for another app (``ocr.readings``) keeps no page images, is not
retried, and is not settled here: its last page sends ``ocr.signals.pages_read``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ocr import engine, storage
from ocr.models import OcrJob, OcrPage
from ocr.reading import read_page
from ocr.settlement import settle_ocr_run
from ocr.signals import pages_read

log = logging.getLogger(__name__)

TRANSIENT = "engine_error"  # page error code of a failure that a retry may cure


LOST = "task_lost"  # the page's task was lost with a worker or a queue: a retry may cure


TRANSIENT_CODES = (TRANSIENT, LOST)


def current_job(job_id: int, attempt: int) -> OcrJob | None:
    """The job if this task still belongs to its current run (else a stale redelivery)."""
    job = OcrJob.objects.filter(pk=job_id).first()
    if job is None or job.attempt != attempt or job.finished or job.expired:
        return None
    return job


def locked_current_job(job_id: int, attempt: int) -> bool:
    """Lock the job row if this run is still current (not deleted, expired or retried)."""
    return (
        OcrJob.objects.select_for_update()
        .filter(pk=job_id, attempt=attempt, purged_at__isnull=True)
        .exists()
    )


def process_ocr_page(job_id: int, page_num: int, attempt: int) -> None:
    """Read one page and store its text, segments and images.

    A ``PdfError`` fails the page for good; other exceptions propagate so the task
    retries (see ``ocr.tasks.process_page``).
    """
    job = current_job(job_id, attempt)
    if job is None:
        return
    page = OcrPage.objects.get(job=job, page_num=page_num)
    if page.status != OcrPage.Status.PENDING:
        return  # a redelivered task: this page is finished already
    OcrJob.objects.filter(pk=job.pk, status=OcrJob.Status.QUEUED).update(
        status=OcrJob.Status.PROCESSING, started_at=timezone.now()
    )
    # A heartbeat for the sweep: a page taken and never finished was lost with its worker.
    OcrPage.objects.filter(pk=page.pk).update(started_at=timezone.now())
    try:
        result = read_page(
            storage.pdf_source(job.original_name),
            page_num,
            dpi=job.dpi,
            language=job.language or None,
        )
    except engine.PdfError as exc:
        fail_ocr_page(job_id, page_num, attempt, exc.message, code=exc.code)
        return
    image = thumb = ""
    if not job.serving:  # another app's reading needs the text only
        image = storage.save_bytes(
            storage.page_file_name(job.token, page_num, "page"), result.image_png
        )
        thumb = storage.save_bytes(
            storage.page_file_name(job.token, page_num, "thumbnail"), result.thumbnail_png
        )
    with transaction.atomic():
        # The job row first: a deletion or expiry either sees this page read, or this
        # page finds the job gone (and is not kept, nor charged).
        if not locked_current_job(job_id, attempt):
            return
        updated = OcrPage.objects.filter(pk=page.pk, status=OcrPage.Status.PENDING).update(
            status=OcrPage.Status.DONE,
            attempt=attempt,
            text=result.text,
            segments=[segment.to_dict() for segment in result.segments],
            lines=result.lines,
            words=result.words,
            preprocessing=result.preprocessing,
            num_segments=result.num_segments,
            language=result.language,
            skew_angle=round(result.skew_angle, 2),
            rotation=result.rotation,
            path=result.path,
            elapsed=round(result.elapsed, 3),
            width=result.width,
            height=result.height,
            image_name=image,
            thumbnail_name=thumb,
            error="",
            error_code="",
            finished_at=timezone.now(),
        )
        if updated:
            OcrJob.objects.filter(pk=job_id).update(pages_done=F("pages_done") + 1)
    finish_run_if_complete(job_id, attempt)


def fail_ocr_page(
    job_id: int, page_num: int, attempt: int, message: str, *, code: str = TRANSIENT
) -> None:
    """A page that cannot be read in this run (``code`` TRANSIENT: a retry may help)."""
    if current_job(job_id, attempt) is None:
        return
    with transaction.atomic():
        if not locked_current_job(job_id, attempt):
            return
        updated = OcrPage.objects.filter(
            job_id=job_id, page_num=page_num, status=OcrPage.Status.PENDING
        ).update(
            status=OcrPage.Status.ERROR,
            attempt=attempt,
            error=message[:1000],
            error_code=code,
            finished_at=timezone.now(),
        )
        if updated:
            OcrJob.objects.filter(pk=job_id).update(pages_failed=F("pages_failed") + 1)
    log.warning("OCR job %s page %s failed (%s): %s", job_id, page_num, code, message)
    finish_run_if_complete(job_id, attempt)


def finish_run_if_complete(job_id: int, attempt: int) -> None:
    """The last page of a run decides the job's outcome and settles the run, once."""
    with transaction.atomic():
        job = OcrJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.attempt != attempt or job.finished:
            return
        if job.pages_done + job.pages_failed < job.total_pages:
            return
        now = timezone.now()
        job.finished_at = now
        if job.pages_failed == 0:
            job.status, job.error, job.error_code, job.retryable = OcrJob.Status.DONE, "", "", False
        else:
            describe_failure(job)
        job.save(
            update_fields=[
                "status",
                "error",
                "error_code",
                "retryable",
                "next_retry_at",
                "finished_at",
            ]
        )
    if job.serving:
        announce_pages_read(job)
    else:
        settle_ocr_run(job)


def announce_pages_read(job: OcrJob) -> None:
    """Hand a reading done for another app back to it (which settles it). A receiver that
    fails is logged, not retried here: the app's own sweep takes finished readings too."""
    for receiver, answer in pages_read.send_robust(sender=OcrJob, job=job):
        if isinstance(answer, Exception):
            log.error("OCR job %s: %s failed on pages_read: %r", job.pk, receiver, answer)


def describe_failure(job: OcrJob) -> None:
    failed = list(
        OcrPage.objects.filter(job=job, status=OcrPage.Status.ERROR).values_list(
            "page_num", "error", "error_code"
        )
    )
    job.status = OcrJob.Status.ERROR
    shown = "; ".join(f"Page {num}: {error}" for num, error, _ in failed[:5])
    more = f" (and {len(failed) - 5} more pages)" if len(failed) > 5 else ""
    job.error = f"{len(failed)} of {job.total_pages} pages failed. {shown}{more}"
    transient = all(code in TRANSIENT_CODES for _, _, code in failed)
    job.error_code = TRANSIENT if transient else failed[0][2]
    # A reading for another app is not run again: its pages' tasks had their retries.
    job.retryable = transient and not job.serving and storage.exists(job.original_name)
    if job.retryable and job.retry_count < settings.OCR_RETRY_CAP:
        delay = settings.OCR_AUTO_RETRY_SECONDS * 2**job.retry_count
        job.next_retry_at = timezone.now() + timedelta(seconds=delay)
    else:
        job.next_retry_at = None
