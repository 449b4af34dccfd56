"""What a PDF's OCR pages cost: held at ingest, settled once its pages are read, released
at once when the document (or its collection) is deleted first.

Closing a document's charge is claimed with one conditional update (``billed`` turns
true), so the worker that finishes it and a delete that races it close it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from billing.holds import release_hold, reserve_funds
from billing.models import Hold
from ocr import flows as ocr_flows
from retrieval.models import Document, Page
from usage.events import UsageEvent, emit_sync


@dataclass(frozen=True)
class PdfCharge:
    """Who pays for a PDF's OCR pages, and under which request id the hold is taken."""

    owner_id: int
    request_id: str
    api_key_id: int | None = None
    budgets: dict | None = None


def hold_pdf_pages(charge: PdfCharge, pages: int) -> tuple[Decimal, object]:
    """Hold ``pages`` × the OCR page price (402 when the wallet cannot cover them)."""
    price = ocr_flows.page_price()
    hold = reserve_funds(
        charge.owner_id,
        charge.request_id,
        price * pages,
        api_key_id=charge.api_key_id,
        budgets=charge.budgets,
    )
    if hold is not None:  # reading a long PDF outlives the default hold lifetime
        Hold.objects.filter(pk=hold.pk).update(
            expires_at=timezone.now() + timedelta(hours=settings.OCR_JOB_TTL_HOURS)
        )
    return price, hold


def _claim(document: Document) -> bool:
    """Whether this caller closes the document's charge (exactly one does)."""
    if not document.billing_request_id:
        return False
    return bool(Document.objects.filter(pk=document.pk, billed=False).update(billed=True))


def _event(document: Document, owner_id: int, units: int, status: str, code: str) -> UsageEvent:
    return UsageEvent(
        request_id=document.billing_request_id,
        user_id=owner_id,
        api_key_id=document.api_key_id,
        model=settings.OCR_PAGE_MODEL,
        source="alretrieval",
        endpoint="alretrieval.ingest",
        units=units,
        cost_usd=document.page_price_usd * units,
        status=status,
        error_code=code,
    )


def settle_pdf_pages(document_pk: int) -> None:
    """Charge the OCR pages read (none when reading failed) and close the ingest's hold.

    The usage drain records a request id once, so settling twice charges once."""
    document = (
        Document.objects.select_related("collection")
        .filter(pk=document_pk, billed=False)
        .exclude(billing_request_id="")
        .first()
    )
    if document is None or not _claim(document):
        return
    read = Page.objects.filter(document=document).count()
    ok = document.status != Document.Status.ERROR and read == document.pages
    units = document.pages if ok else 0
    emit_sync(
        _event(
            document,
            document.collection.owner_id,
            units,
            "ok" if ok else "error",
            "" if ok else "ingest_failed",
        )
    )


def release_pdf_holds(documents: list[Document], owner_id: int) -> None:
    """Documents deleted before their pages were charged: their holds are released now
    (nothing is charged) and the usage log says why."""
    for document in documents:
        if not _claim(document):
            continue
        release_hold(document.billing_request_id)
        emit_sync(_event(document, owner_id, 0, "cancelled", "document_deleted"))
