"""OCR use cases: upload → pages in parallel → settle; retry; expiry.

Money: an upload holds ``pages × unit price`` (``ocr_<token>_0``); when every page of
a run has finished, one usage event for the pages that run actually read (same request
id) lets the usage drain charge them and close the hold, giving back the rest. A retry
is a new run (``ocr_<token>_<attempt>``) holding only the pages still to do.

Pages read are charged whatever happens to the job afterwards: a run that fails on a
later page is settled like any other; a job deleted (or expired) mid-run has the pages
its run read so far charged in the very transaction that deletes (or purges) it
(``settle_read_pages``), so no crash between the two can drop the charge. A page is
read when its row says ``done``; the job row is locked while that is written, so a page
is either counted by the deletion or finds its job gone.

Failures: a ``PdfError`` is the file's fault and final for that page; any other
exception is transient and Celery retries the page task with exponential backoff. A
run with failed pages ends in ``error``; if every failure was transient (and the
original is still stored) the job is ``retryable``, and :func:`ocr.lifecycle.retry_failed_jobs`
retries it automatically with exponential backoff until ``OCR_RETRY_CAP``.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from billing.errors import BillingError
from billing.holds import release_hold, reserve_funds
from billing.models import Hold
from catalog.models import Model
from gateway.admission import Call, require_admitted
from ground.errors import ApiError
from ocr import engine, storage
from ocr.models import OcrJob, OcrPage
from usage.drain import record_now
from usage.events import UsageEvent, emit_sync

log = logging.getLogger(__name__)

MB = 1024 * 1024
TRANSIENT = "engine_error"  # page error code of a failure that a retry may cure
LOST = "task_lost"  # the page's task was lost with a worker or a queue: a retry may cure
TRANSIENT_CODES = (TRANSIENT, LOST)
QUEUE_ERRORS: tuple[type[BaseException], ...]
try:  # what a publish raises when the broker cannot be reached
    from kombu.exceptions import KombuError, OperationalError

    QUEUE_ERRORS = (OperationalError, KombuError, ConnectionError, TimeoutError)
except ImportError:  # pragma: no cover - kombu comes with Celery
    QUEUE_ERRORS = (ConnectionError, TimeoutError)

# pdfium is not thread-safe; a web process validates one upload at a time.
_pdfium_lock = threading.Lock()

# PdfError code -> HTTP status of the upload's refusal.
PDF_ERROR_STATUS = {"too_many_pages": 413}


ENGINE_STATE_KEY = "ocr:engine-state"
ENGINE_STATE_SECONDS = 120


def report_engine_state() -> str | None:
    """A worker says whether it can run OCR (every sweep, and when it starts)."""
    problem = engine.engine_problem()
    cache.set(ENGINE_STATE_KEY, problem or "ok", ENGINE_STATE_SECONDS)
    return problem


def engine_unavailable_reason() -> str | None:
    """Why OCR cannot run on this deployment, or None. With Redis, the workers (which run
    the engine) report it; on one machine without Redis, this machine is the worker."""
    if settings.REDIS_URL:
        state = cache.get(ENGINE_STATE_KEY)
        return None if state in (None, "ok") else state
    return engine.engine_problem()


def check_engine_available() -> None:
    reason = engine_unavailable_reason()
    if reason:
        raise ApiError(
            503,
            f"OCR is unavailable on this server ({reason}). Nothing was charged; an "
            "operator must install the OCR engine's language data.",
            code="ocr_unavailable",
        )


def max_upload_bytes() -> int:
    return settings.OCR_MAX_UPLOAD_MB * MB


def page_price() -> Decimal:
    """USD per page: the enabled catalog model ``OCR_PAGE_MODEL``, else free."""
    price = (
        Model.objects.filter(public_id=settings.OCR_PAGE_MODEL, type="ocr", enabled=True)
        .values_list("unit_price", flat=True)
        .first()
    )
    return price if price is not None else Decimal(0)


# --- Upload --------------------------------------------------------------------------
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
        with _pdfium_lock:
            return engine.inspect_pdf(
                data,
                max_pages=settings.OCR_MAX_PAGES,
                max_page_pixels=settings.OCR_MAX_PAGE_PIXELS,
                dpi=settings.OCR_DPI,
                check_text_layer=False,
            )
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
    budgets = call.ctx.budgets
    check_engine_available()
    info = validate_pdf(upload.data)
    price = page_price()
    token = secrets.token_urlsafe(24)
    now = timezone.now()
    name = storage.save_bytes(storage.original_name(token), upload.data)
    try:
        with transaction.atomic():
            hold_pages(owner_id, f"ocr_{token}_0", info.page_count * price, api_key_id, budgets)
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
        queue_pages(job, range(1, job.total_pages + 1))
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


def clean_filename(name: str) -> str:
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255] or "document.pdf"


def hold_pages(
    owner_id: int,
    request_id: str,
    amount: Decimal,
    api_key_id: int | None,
    budgets: dict[str, Decimal | None] | None,
) -> None:
    try:
        hold = reserve_funds(owner_id, request_id, amount, api_key_id=api_key_id, budgets=budgets)
    except BillingError as exc:
        raise ApiError(402, exc.message, type="insufficient_quota", code=exc.code) from None
    if hold is not None:
        # A long document outlives the default hold TTL; the job's own expiry bounds it,
        # and its hold outlives that by an hour so the job's expiry settles it first.
        Hold.objects.filter(pk=hold.pk).update(
            expires_at=timezone.now() + timedelta(hours=settings.OCR_JOB_TTL_HOURS + 1)
        )


def queue_pages(job: OcrJob, page_nums: Iterable[int]) -> None:
    from ocr.tasks import process_page

    page_nums = list(page_nums)
    OcrPage.objects.filter(job=job, page_num__in=page_nums).update(
        queued_at=timezone.now(), started_at=None
    )
    for page_num in page_nums:
        process_page.delay_on_commit(job.pk, page_num, job.attempt)


def requeue_lost_pages(now=None, limit: int = 500) -> int:
    """Pages of running jobs whose task was lost: taken by a worker that stopped
    (``OCR_PAGE_STALL_SECONDS`` without finishing) or never taken at all
    (``OCR_PAGE_LOST_SECONDS`` in the queue). They are queued again, and fail clearly
    once ``OCR_RETRY_CAP`` tasks were lost. Processing is idempotent, so a page that was
    merely slow is read once."""
    from ocr.tasks import process_page

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
            process_page.delay(job.pk, page.page_num, job.attempt)
        count += 1
    return count


def queue_unavailable() -> ApiError:
    return ApiError(
        502,
        "The OCR workers' queue cannot be reached right now. Nothing was charged; try again shortly.",
        code="queue_unavailable",
    )


def queue_position(job: OcrJob) -> int:
    """1-based place among the jobs waiting or running (0 once finished)."""
    if job.finished:
        return 0
    ahead = OcrJob.objects.filter(
        status__in=(OcrJob.Status.QUEUED, OcrJob.Status.PROCESSING), pk__lt=job.pk
    ).count()
    return ahead + 1


# --- Pages ---------------------------------------------------------------------------
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
        result = engine.process_page(
            storage.pdf_source(job.original_name),
            page_num - 1,
            dpi=job.dpi,
            max_page_pixels=settings.OCR_MAX_PAGE_PIXELS,
            language=job.language or None,
        )
    except engine.PdfError as exc:
        fail_ocr_page(job_id, page_num, attempt, exc.message, code=exc.code)
        return
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
    settle_ocr_run(job)


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
    job.retryable = transient and storage.exists(job.original_name)
    if job.retryable and job.retry_count < settings.OCR_RETRY_CAP:
        delay = settings.OCR_AUTO_RETRY_SECONDS * 2**job.retry_count
        job.next_retry_at = timezone.now() + timedelta(seconds=delay)
    else:
        job.next_retry_at = None


def settle_ocr_run(job: OcrJob) -> None:
    """Emit the run's usage event: the drain charges the pages read and closes the hold.

    Emitting twice is harmless (the drain records a request id once); a failed emit is
    repeated by :func:`settle_unbilled_jobs`.
    """
    event = run_usage_event(
        job, "ok" if job.status == OcrJob.Status.DONE else "error", job.error_code
    )
    try:
        emit_sync(event)
    except Exception:
        log.exception("Could not emit the usage of %s; the sweep will retry", job.request_id)
        return
    OcrJob.objects.filter(pk=job.pk, billed_attempt__lt=job.attempt).update(
        billed_attempt=job.attempt
    )


def run_usage_event(job: OcrJob, status: str, error_code: str) -> UsageEvent:
    """The current run's usage: the pages it read, at the job's page price."""
    units = OcrPage.objects.filter(job=job, status=OcrPage.Status.DONE, attempt=job.attempt).count()
    started = job.started_at or job.created_at
    return UsageEvent(
        request_id=job.request_id,
        user_id=job.owner_id,
        api_key_id=job.api_key_id,
        model=settings.OCR_PAGE_MODEL,
        source="ocr",
        endpoint="ocr",
        units=units,
        cost_usd=job.unit_price_usd * units,
        status=status,
        error_code=error_code,
        latency_ms=max(
            int(((job.finished_at or timezone.now()) - started).total_seconds() * 1000), 0
        ),
    )


def settle_read_pages(job: OcrJob, reason: str) -> None:
    """Charge the pages the current run has read, now, in the caller's transaction (which
    has the job row locked): a run deleted or expired before it finished. A run whose
    usage event is out already is left to the drain."""
    if job.billed_attempt >= job.attempt:
        return
    if job.finished:
        event = run_usage_event(
            job, "ok" if job.status == OcrJob.Status.DONE else "error", job.error_code
        )
    else:
        event = run_usage_event(job, "cancelled", reason)
    record_now(event)
    log.info("OCR job %s: %s pages read before %s charged", job.token, event.units, reason)


def settle_unbilled_jobs() -> int:
    """Runs whose usage event was never emitted (a crash, Redis down)."""
    jobs = OcrJob.objects.filter(
        status__in=OcrJob.FINISHED, billed_attempt__lt=F("attempt"), purged_at__isnull=True
    )[:200]
    count = 0
    for job in jobs:
        settle_ocr_run(job)
        count += 1
    return count


# --- Jobs ----------------------------------------------------------------------------
def owned_job(token: str, owner_id: int, *, for_update: bool = False) -> OcrJob:
    """The caller's job: 404 when unknown or someone else's, 410 when expired."""
    rows = OcrJob.objects.select_for_update() if for_update else OcrJob.objects
    job = rows.filter(token=token, owner_id=owner_id).first()
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
