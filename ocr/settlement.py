"""What OCR pages cost and how a run's pages are charged.

Money: an upload holds ``pages × unit price`` (``ocr_<token>_0``); when every page of
a run has finished, one usage event for the pages that run actually read (same request
id) lets the usage drain charge them and close the hold, giving back the rest. A retry
is a new run (``ocr_<token>_<attempt>``) holding only the pages still to do.

One settlement for every app whose PDFs OCR reads (``/v1/ocr`` and retrieval's PDF
ingest): ``hold_pages`` before anything is read, ``charge_pages`` when the pages are
read (or none are, or the work is deleted first), at the price held.

Pages read are charged whatever happens to the job afterwards: a run that fails on a
later page is settled like any other; a job deleted (or expired) mid-run has the pages
its run read so far charged in the very transaction that deletes (or purges) it
(``settle_read_pages``), so no crash between the two can drop the charge. A page is
read when its row says ``done``; the job row is locked while that is written, so a page
is either counted by the deletion or finds its job gone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from accounts.snapshots import KeyContext
from billing.errors import BillingError
from billing.holds import reserve_funds
from billing.models import Hold
from catalog.models import Model
from ground.errors import ApiError
from ocr.models import OcrJob, OcrPage
from usage.drain import record_now
from usage.events import UsageEvent, emit_sync

log = logging.getLogger(__name__)


def page_price() -> Decimal:
    """USD per page: the enabled catalog model ``OCR_PAGE_MODEL``, else free."""
    price = (
        Model.objects.filter(public_id=settings.OCR_PAGE_MODEL, type="ocr", enabled=True)
        .values_list("unit_price", flat=True)
        .first()
    )
    return price if price is not None else Decimal(0)


@dataclass(frozen=True)
class PageCharge:
    """Pages read by OCR, charged to ``owner_id`` (and its key) under ``request_id``, whose
    hold ``hold_pages`` took; ``source``/``endpoint`` say which app read them."""

    request_id: str
    owner_id: int
    api_key_id: int | None
    unit_price: Decimal
    source: str = "ocr"
    endpoint: str = "ocr"


def hold_pages(payer: KeyContext, request_id: str, amount: Decimal) -> None:
    """Hold ``amount`` for pages to read from the payer's organization's wallet (402 when
    the wallet, the project's budget, the member's cap or a key cap refuses)."""
    try:
        hold = reserve_funds(payer.organization_id, request_id, amount, caps=payer.caps)
    except BillingError as exc:
        raise ApiError(402, exc.message, type="insufficient_quota", code=exc.code) from None
    if hold is not None:
        # A long document outlives the default hold TTL; an OCR job's own expiry bounds
        # it, and its hold outlives that by an hour so the job's expiry settles it first.
        Hold.objects.filter(pk=hold.pk).update(
            expires_at=timezone.now() + timedelta(hours=settings.OCR_JOB_TTL_HOURS + 1)
        )


def pages_usage_event(
    charge: PageCharge, units: int, status: str, error_code: str = "", *, latency_ms: int = 0
) -> UsageEvent:
    """``units`` pages read, at the price held: what the drain charges and closes the hold for."""
    return UsageEvent(
        request_id=charge.request_id,
        user_id=charge.owner_id,
        api_key_id=charge.api_key_id,
        model=settings.OCR_PAGE_MODEL,
        source=charge.source,
        endpoint=charge.endpoint,
        units=units,
        cost_usd=charge.unit_price * units,
        status=status,
        error_code=error_code,
        latency_ms=latency_ms,
    )


def charge_pages(
    charge: PageCharge,
    units: int,
    status: str,
    error_code: str = "",
    *,
    latency_ms: int = 0,
    in_transaction: bool = False,
) -> UsageEvent:
    """Settle a hold of pages: charge the ``units`` read (0: nothing) and close the hold,
    giving back the rest. The usage event is emitted for the drain, or, ``in_transaction``,
    recorded in the caller's transaction (one that deletes what the pages were read for).
    The drain records a request id once, so settling twice charges once."""
    event = pages_usage_event(charge, units, status, error_code, latency_ms=latency_ms)
    if in_transaction:
        record_now(event)
    else:
        emit_sync(event)
    return event


def job_charge(job: OcrJob) -> PageCharge:
    return PageCharge(job.request_id, job.owner_id, job.api_key_id, job.unit_price_usd)


def settle_ocr_run(job: OcrJob) -> None:
    """Emit the run's usage event: the drain charges the pages read and closes the hold.

    Not for a reading done for another app, which settles it (``ocr.readings``).
    Emitting twice is harmless (the drain records a request id once); a failed emit is
    repeated by :func:`settle_unbilled_jobs`.
    """
    status = "ok" if job.status == OcrJob.Status.DONE else "error"
    try:
        charge_pages(
            job_charge(job),
            run_pages_read(job),
            status,
            job.error_code,
            latency_ms=run_latency_ms(job),
        )
    except Exception:
        log.exception("Could not emit the usage of %s; the sweep will retry", job.request_id)
        return
    OcrJob.objects.filter(pk=job.pk, billed_attempt__lt=job.attempt).update(
        billed_attempt=job.attempt
    )


def run_pages_read(job: OcrJob) -> int:
    """The pages the job's current run read."""
    return OcrPage.objects.filter(job=job, status=OcrPage.Status.DONE, attempt=job.attempt).count()


def run_latency_ms(job: OcrJob) -> int:
    started = job.started_at or job.created_at
    return max(int(((job.finished_at or timezone.now()) - started).total_seconds() * 1000), 0)


def settle_read_pages(job: OcrJob, reason: str) -> None:
    """Charge the pages the current run has read, now, in the caller's transaction (which
    has the job row locked): a run deleted or expired before it finished. A run whose
    usage event is out already is left to the drain."""
    if job.billed_attempt >= job.attempt or job.serving:
        return
    if job.finished:
        status, code = ("ok" if job.status == OcrJob.Status.DONE else "error"), job.error_code
    else:
        status, code = "cancelled", reason
    event = charge_pages(
        job_charge(job),
        run_pages_read(job),
        status,
        code,
        latency_ms=run_latency_ms(job),
        in_transaction=True,
    )
    log.info("OCR job %s: %s pages read before %s charged", job.token, event.units, reason)


def settle_unbilled_jobs() -> int:
    """Runs whose usage event was never emitted (a crash, Redis down)."""
    jobs = OcrJob.objects.own().filter(  # another app settles what OCR reads for it
        status__in=OcrJob.FINISHED, billed_attempt__lt=F("attempt"), purged_at__isnull=True
    )[:200]
    count = 0
    for job in jobs:
        settle_ocr_run(job)
        count += 1
    return count
