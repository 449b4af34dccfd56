"""Queuing a run's page tasks, by name (``ocr.tasks`` imports the use cases, never the
other way round), and queuing again the pages whose task was lost.

``OCR_QUEUE`` routes ``ocr.tasks.process_page`` by that name (``CELERY_TASK_ROUTES``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from celery import current_app
from celery.canvas import Signature
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import KombuError, OperationalError

from ground.errors import ApiError
from ocr.models import OcrJob, OcrPage
from ocr.pages import LOST, fail_ocr_page

log = logging.getLogger(__name__)

PROCESS_PAGE = "ocr.tasks.process_page"
# What a publish raises when the broker cannot be reached.
QUEUE_ERRORS = (OperationalError, KombuError, ConnectionError, TimeoutError)


def page_task(job_id: int, page_num: int, attempt: int) -> Signature:
    """The task that reads one page of a run (routed by its name)."""
    return current_app.signature(PROCESS_PAGE, args=(job_id, page_num, attempt))


def queue_pages(job: OcrJob, page_nums: Iterable[int]) -> None:
    """Queue the run's page tasks once the caller's transaction commits (at once outside
    one: a broker that cannot be reached raises one of ``QUEUE_ERRORS`` here)."""
    page_nums = list(page_nums)
    OcrPage.objects.filter(job=job, page_num__in=page_nums).update(
        queued_at=timezone.now(), started_at=None
    )
    for page_num in page_nums:
        transaction.on_commit(page_task(job.pk, page_num, job.attempt).delay)


def requeue_lost_pages(now=None, limit: int = 500) -> int:
    """Pages of running jobs whose task was lost: taken by a worker that stopped
    (``OCR_PAGE_STALL_SECONDS`` without finishing) or never taken at all
    (``OCR_PAGE_LOST_SECONDS`` in the queue). They are queued again, and fail clearly
    once ``OCR_RETRY_CAP`` tasks were lost. Processing is idempotent, so a page that was
    merely slow is read once."""
    now = now or timezone.now()
    stalled = Q(started_at__lt=now - timedelta(seconds=settings.OCR_PAGE_STALL_SECONDS))
    never_started = Q(
        started_at__isnull=True,
        queued_at__lt=now - timedelta(seconds=settings.OCR_PAGE_LOST_SECONDS),
    )
    lost = (
        OcrPage.objects.filter(
            status=OcrPage.Status.PENDING,
            job__status__in=(OcrJob.Status.QUEUED, OcrJob.Status.PROCESSING),
            job__purged_at__isnull=True,
        )
        .filter(stalled | never_started)
        .select_related("job")[:limit]
    )
    count = 0
    for page in lost:
        job = page.job
        if page.requeues >= settings.OCR_RETRY_CAP:
            fail_ocr_page(
                job.pk,
                page.page_num,
                job.attempt,
                f"This page's task was lost {page.requeues + 1} times (an OCR worker stopped "
                "or the queue lost it). Retrying the job may help once workers are running.",
                code=LOST,
            )
        elif OcrPage.objects.filter(pk=page.pk, status=OcrPage.Status.PENDING).update(
            requeues=F("requeues") + 1, queued_at=now, started_at=None
        ):
            log.warning("OCR job %s page %s: task lost, queued again", job.pk, page.page_num)
            page_task(job.pk, page.page_num, job.attempt).delay()
        count += 1
    return count


def queue_unavailable() -> ApiError:
    return ApiError(
        502,
        "The OCR workers' queue cannot be reached right now. Nothing was charged; try again shortly.",
        code="queue_unavailable",
    )
