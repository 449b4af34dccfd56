"""What a PDF's OCR pages cost: held at ingest, settled when OCR's page tasks have read
them (``retrieval.pdfreading.take_pages``: the pages read, whether or not every page
could be), and settled at once when the document (or its collection) is deleted first:
its reading is stopped and the pages it had read are charged (none read: the hold is
released). All through OCR's own settlement (``ocr.settlement.hold_pages`` and
``charge_pages``), at the price held, under the ingest's request id.

Closing a document's charge is claimed with one conditional update (``billed`` turns
true), so the task that takes the pages and a delete that races it close it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from accounts.snapshots import KeyContext
from billing.holds import release_hold
from ocr import readings
from ocr.models import OcrJob
from ocr.settlement import PageCharge, charge_pages, hold_pages, page_price
from retrieval.models import Document

SOURCE = "alretrieval"
ENDPOINT = "alretrieval.ingest"


@dataclass(frozen=True)
class PdfCharge:
    """Who pays for a PDF's OCR pages (the caller: their organization's wallet, within
    every cap of theirs), and under which request id the hold is taken."""

    payer: KeyContext
    request_id: str

    @property
    def owner_id(self) -> int:
        return self.payer.owner_id

    @property
    def api_key_id(self) -> int | None:
        return self.payer.key_id or None


def hold_pdf_pages(charge: PdfCharge, pages: int) -> Decimal:
    """Hold ``pages`` × the OCR page price (402 when the wallet cannot cover them); the
    price held, which the document keeps."""
    price = page_price()
    hold_pages(charge.payer, charge.request_id, price * pages)
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


def settle_pdf_pages(document: Document, owner_id: int, pages_read: int, *, ok: bool) -> None:
    """Charge the ``pages_read`` and close the ingest's hold, once, recorded in the
    caller's transaction (the one that takes the pages)."""
    if not _claim(document):
        return
    charge_pages(
        _charge(document, owner_id),
        pages_read,
        "ok" if ok else "error",
        "" if ok else "ingest_failed",
        in_transaction=True,
    )


def stop_pdf_reading(document: Document, owner_id: int, status: str, error_code: str) -> None:
    """In the caller's transaction (which locked the document): stop the document's
    reading and charge the pages it had read; with none read the hold is released at
    once (a free usage event says why)."""
    read = readings.stop_reading(OcrJob.Source.RETRIEVAL, document.doc_id)
    if not _claim(document):
        return
    charge = _charge(document, owner_id)
    if read:
        charge_pages(charge, read, status, error_code, in_transaction=True)
    else:
        release_hold(document.billing_request_id)
        charge_pages(charge, 0, status, error_code)


def release_pdf_holds(documents: list[Document], owner_id: int) -> None:
    """Documents deleted before their pages were taken, in the deleting transaction."""
    for document in documents:
        if document.billing_request_id:  # a PDF (nothing else is read or held)
            stop_pdf_reading(document, owner_id, "cancelled", "document_deleted")
