"""A caller's OCR jobs: finding one, its place in the queue, its searchable PDF, deleting it."""

from __future__ import annotations

import logging

from django.db import transaction

from ground.errors import ApiError
from ocr import engine, storage
from ocr.models import OcrJob, OcrPage
from ocr.settlement import settle_read_pages

log = logging.getLogger(__name__)


def owned_job(token: str, owner_id: int, *, for_update: bool = False) -> OcrJob:
    """The caller's job: 404 when unknown or someone else's, 410 when expired."""
    rows = OcrJob.objects.select_for_update() if for_update else OcrJob.objects
    job = rows.own().filter(token=token, owner_id=owner_id).first()
    if job is None:
        raise ApiError(404, f"No OCR job with token '{token}'.", code="job_not_found")
    if job.expired:
        raise ApiError(
            410,
            f"This OCR job expired on {job.expires_at:%Y-%m-%d %H:%M} UTC; its files are deleted. "
            "Upload the document again.",
            code="gone",
        )
    return job


def queue_position(job: OcrJob) -> int:
    """1-based place among the jobs waiting or running (0 once finished)."""
    if job.finished:
        return 0
    ahead = OcrJob.objects.filter(
        status__in=(OcrJob.Status.QUEUED, OcrJob.Status.PROCESSING), pk__lt=job.pk
    ).count()
    return ahead + 1


def delete_ocr_job(token: str, owner_id: int) -> None:
    """Remove a job, its stored original, page images and thumbnails (404 if not yours).
    A run still in progress stops: its pages find no job; the pages it read are charged
    and the rest of its hold is released, in the transaction that deletes the job."""
    with transaction.atomic():
        job = owned_job(token, owner_id, for_update=True)
        settle_read_pages(job, "job_deleted")
        job.delete()
    storage.delete_tree(storage.job_folder(job.token))
    log.info("OCR job %s deleted by its owner", token)


def searchable_pdf(token: str, owner_id: int) -> bytes:
    """The original with an invisible text layer on every OCR'd page (once the job is
    finished); made once and kept beside the original."""
    job = owned_job(token, owner_id)
    if not job.finished:
        raise ApiError(
            409, "The job is still running; ask again when it is done.", code="job_not_finished"
        )
    name = storage.searchable_name(job.token)
    if storage.exists(name):
        return storage.read_bytes(name)
    pages = {p.page_num: p for p in OcrPage.objects.filter(job=job, status=OcrPage.Status.DONE)}
    layers = [
        engine.TextLayerPage(p.width, p.height, p.words, p.rotation, p.skew_angle)
        if (p := pages.get(n)) is not None and p.path == "ocr" and p.words
        else None
        for n in range(1, job.total_pages + 1)
    ]
    data = engine.build_searchable_pdf(storage.read_bytes(job.original_name), layers)
    storage.save_bytes(name, data)
    return data
