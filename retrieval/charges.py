"""What a PDF's OCR pages cost: held at ingest, settled once its pages are read, released
at once when the document (or its collection) is deleted first — through OCR's own
settlement (``ocr.settlement.hold_pages`` and ``charge_pages``), at the price held.

Closing a document's charge is claimed with one conditional update (``billed`` turns
true), so the worker that finishes it and a delete that races it close it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing.holds import release_hold
from ocr.settlement import PageCharge, charge_pages, hold_pages, page_price
from retrieval.models import Document, Page

SOURCE = "alretrieval"
ENDPOINT = "alretrieval.ingest"


@dataclass(frozen=True)
class PdfCharge:
    """Who pays for a PDF's OCR pages, and under which request id the hold is taken."""

    owner_id: int
    request_id: str
    api_key_id: int | None = None
    budgets: dict | None = None


def hold_pdf_pages(charge: PdfCharge, pages: int) -> Decimal:
    """Hold ``pages`` × the OCR page price (402 when the wallet cannot cover them); the
    price held, which the document keeps."""
    price = page_price()
    hold_pages(charge.owner_id, charge.request_id, price * pages, charge.api_key_id, charge.budgets)
    return price


def _claim(document: Document) -> bool:
    """Whether this caller closes the document's charge (exactly one does)."""
    if not document.billing_request_id:
        return False
    return bool(Document.objects.filter(pk=document.pk, billed=False).update(billed=True))


def _charge(document: Document, owner_id: int) -> PageCharge:
    return PageCharge(
        document.billing_request_id,
        owner_id,
        document.api_key_id,
        document.page_price_usd,
        source=SOURCE,
        endpoint=ENDPOINT,
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
    charge_pages(
        _charge(document, document.collection.owner_id),
        document.pages if ok else 0,
        "ok" if ok else "error",
        "" if ok else "ingest_failed",
    )


def release_pdf_holds(documents: list[Document], owner_id: int) -> None:
    """Documents deleted before their pages were charged: their holds are released now
    (nothing is charged) and the usage log says why."""
    for document in documents:
        if not _claim(document):
            continue
        release_hold(document.billing_request_id)
        charge_pages(_charge(document, owner_id), 0, "cancelled", "document_deleted")
