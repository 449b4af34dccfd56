"""Uploading a PDF for OCR: validate, store the original, hold the funds, create the job
and queue its pages (``start_ocr_job``)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.holds import release_hold
from gateway.admission import Call, require_admitted
from ground.errors import ApiError
from ocr import engine, queueing, reading, storage
from ocr.availability import check_engine_available
from ocr.models import OcrJob, OcrPage
from ocr.queueing import QUEUE_ERRORS, queue_unavailable
from ocr.settlement import hold_pages, page_price

log = logging.getLogger(__name__)

MB = 1024 * 1024
# PdfError code -> HTTP status of the upload's refusal.
PDF_ERROR_STATUS = {"too_many_pages": 413}


def max_upload_bytes() -> int:
    return settings.OCR_MAX_UPLOAD_MB * MB


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes
    language: str = ""  # ara, eng, ara+eng; empty: automatic


def validate_pdf(data: bytes) -> engine.PdfInfo:
    """Refuse what cannot be processed before anything is stored, held or queued."""
    if len(data) > max_upload_bytes():
        raise too_large(len(data))
    try:
        return reading.inspect_pdf(data, max_pages=settings.OCR_MAX_PAGES)
    except engine.PdfError as exc:
        status = PDF_ERROR_STATUS.get(exc.code, 400)
        raise ApiError(
            status, exc.message, type="invalid_request_error", code=exc.code, param="file"
        ) from None


def too_large(size: int) -> ApiError:
    return ApiError(
        413,
        f"The file is {size / MB:.1f} MB; uploads are limited to {settings.OCR_MAX_UPLOAD_MB} MB.",
        param="file",
    )


def start_ocr_job(call: Call, upload: Upload, *, source: str = OcrJob.Source.API) -> OcrJob:
    """Validate, store the original, hold the funds, create the job and queue its pages.

    ``call`` is the upload's admission (``gateway.admission``): it must have admitted
    ``OCR_PAGE_MODEL`` for its caller, whose wallet and key caps pay."""
    require_admitted(call, settings.OCR_PAGE_MODEL)
    owner_id, api_key_id = call.ctx.owner_id, call.ctx.key_id or None
    check_engine_available()
    info = validate_pdf(upload.data)
    price = page_price()
    token = secrets.token_urlsafe(24)
    now = timezone.now()
    name = storage.save_bytes(storage.original_name(token), upload.data)
    try:
        with transaction.atomic():
            hold_pages(call.ctx, f"ocr_{token}_0", info.page_count * price)
            job = OcrJob.objects.create(
                token=token,
                owner_id=owner_id,
                api_key_id=api_key_id,
                source=source,
                filename=clean_filename(upload.filename),
                size_bytes=len(upload.data),
                original_name=name,
                total_pages=info.page_count,
                dpi=settings.OCR_DPI,
                language=check_language(upload.language),
                unit_price_usd=price,
                created_at=now,
                expires_at=now + timedelta(hours=settings.OCR_JOB_TTL_HOURS),
            )
            OcrPage.objects.bulk_create(
                OcrPage(job=job, page_num=n) for n in range(1, info.page_count + 1)
            )
    except BaseException:
        storage.delete_tree(storage.job_folder(token))
        raise
    try:
        queueing.queue_pages(job, range(1, job.total_pages + 1))
    except QUEUE_ERRORS as exc:
        log.error("Could not queue OCR job %s: %s", job.token, exc)
        release_hold(job.request_id)
        storage.delete_tree(storage.job_folder(token))
        job.delete()
        raise queue_unavailable() from None
    log.info("OCR job %s queued: %s pages of %s", token, job.total_pages, job.filename)
    return job


LANGUAGES = ("ara", "eng", "ara+eng")


def check_language(language: str) -> str:
    language = (language or "").strip()
    if language and language not in LANGUAGES:
        raise ApiError(
            400,
            f"'language' must be one of {', '.join(LANGUAGES)} (or omitted: automatic).",
            param="language",
            code="invalid_parameter",
        )
    return language


def clean_filename(name: str) -> str:
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255] or "document.pdf"
