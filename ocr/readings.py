"""Reading a stored PDF's pages for another app (retrieval's ingest) through OCR's own
page pipeline: one ``ocr.tasks.process_page`` task per page, with its retries (Celery
backoff), the sweep's requeue of lost pages (``ocr.queueing.requeue_lost_pages``) and
per-page failure, in parallel on every OCR worker.

The reading is an ``OcrJob`` whose ``source`` says which app it serves and whose
``reference`` is that app's id for the document. It is not the user's OCR job: neither
``/v1/ocr`` nor the OCR page lists it, it is never retried as a new run (a page that
fails after its task's retries fails the reading), it keeps no page images, and OCR
does not settle it: the serving app holds the pages' price and charges the pages read
(``pages_read`` of what ``take_reading`` or ``stop_reading`` return, at the price it
held, through ``ocr.settlement.charge_pages``). When the run ends OCR sends
``ocr.signals.pages_read``; the app takes the pages (the job is deleted with that).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ocr import queueing
from ocr.models import OcrJob, OcrPage


@dataclass(frozen=True)
class Reading:
    """Where a reading stands. ``texts`` (one per page, in order) once it is done."""

    status: str  # OcrJob.Status
    pages_read: int
    total_pages: int
    error: str = ""
    texts: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status in OcrJob.FINISHED


def start_reading(
    source: str,
    reference: str,
    *,
    owner_id: int,
    api_key_id: int | None,
    stored_name: str,
    filename: str,
    pages: int,
) -> OcrJob:
    """Create the reading of ``pages`` pages of the stored PDF ``stored_name`` and queue
    its page tasks when the caller's transaction commits. The caller has validated the
    PDF and holds the funds."""
    now = timezone.now()
    job = OcrJob.objects.create(
        token=secrets.token_urlsafe(24),
        owner_id=owner_id,
        api_key_id=api_key_id,
        source=source,
        reference=reference,
        filename=filename[:255],
        original_name=stored_name,
        total_pages=pages,
        dpi=settings.OCR_DPI,
        created_at=now,
        # Never expired by OCR (``expire_ocr_jobs`` leaves serving jobs alone): the app
        # takes or stops it. The date only satisfies the column.
        expires_at=now + timedelta(hours=settings.OCR_JOB_TTL_HOURS),
    )
    OcrPage.objects.bulk_create(OcrPage(job=job, page_num=n) for n in range(1, pages + 1))
    queueing.queue_pages(job, range(1, pages + 1))
    return job


def _job(source: str, reference: str, *, for_update: bool = False) -> OcrJob | None:
    rows = OcrJob.objects.select_for_update() if for_update else OcrJob.objects
    return rows.filter(source=source, reference=reference).order_by("-pk").first()


def _pages_read(job: OcrJob) -> int:
    return OcrPage.objects.filter(job=job, status=OcrPage.Status.DONE).count()


def reading_progress(source: str, reference: str) -> Reading | None:
    """Pages read so far (``None``: no reading, or it was taken or stopped)."""
    job = _job(source, reference)
    if job is None:
        return None
    return Reading(job.status, job.pages_done, job.total_pages, job.error)


def take_reading(source: str, reference: str) -> Reading | None:
    """A finished reading's outcome and page texts, and the job is deleted with it: call
    in the transaction that stores them, so they are taken exactly once. An unfinished
    reading is returned without texts and left running; ``None``: nothing to take."""
    job = _job(source, reference, for_update=True)
    if job is None:
        return None
    if not job.finished:
        return Reading(job.status, job.pages_done, job.total_pages)
    texts = dict(
        OcrPage.objects.filter(job=job, status=OcrPage.Status.DONE).values_list("page_num", "text")
    )
    reading = Reading(
        job.status,
        len(texts),
        job.total_pages,
        job.error,
        [texts.get(n, "") for n in range(1, job.total_pages + 1)],
    )
    job.delete()
    return reading


def stop_reading(source: str, reference: str) -> int:
    """Delete the reading (its queued and running page tasks find no job, and keep
    nothing) and answer how many pages it had read, for the caller to charge in the same
    transaction. The job row is locked first, so a page being written is either counted
    here or finds its job gone."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stop_reading must run in the transaction that charges the pages")
    job = _job(source, reference, for_update=True)
    if job is None:
        return 0
    read = _pages_read(job)
    job.delete()
    return read


def pages_read_of(source: str, references: list[str]) -> dict[str, int]:
    """Pages read so far by the readings still held for these references (one query)."""
    rows = OcrJob.objects.filter(source=source, reference__in=references)
    return dict(rows.values_list("reference", "pages_done"))
