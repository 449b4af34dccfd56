"""A PDF document's pages are read by OCR's page tasks (``ocr.readings``): one Celery
task per page, retried on a transient failure, queued again by OCR's sweep when its
worker was lost, in parallel on every OCR worker.

The reading starts with the ingest (``start_pdf_reading``, in its transaction; the
document stays ``queued``). When every page is read, or one failed for good, OCR sends
``ocr.signals.pages_read`` and ``on_pages_read`` queues the document's indexing task,
whose first step (``take_pages``) takes the page texts into the document's ``Page`` rows
and settles the pages read, in one transaction. The sweep (``retrieval.indexing``)
takes a finished reading whose signal was lost, and leaves one still reading alone.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ocr import readings
from ocr.models import OcrJob
from retrieval.charges import settle_pdf_pages
from retrieval.extract import page_text
from retrieval.filetypes import MIME_TYPES
from retrieval.models import Document
from retrieval.models import Page as PageRow
from retrieval.queueing import queue_indexing
from retrieval.text import clean_text

SOURCE = OcrJob.Source.RETRIEVAL
NOT_READ = (
    "This PDF's pages were not read (the reading was lost or stopped). Ingest the document again."
)


def is_pdf(document: Document) -> bool:
    return document.mime_type == MIME_TYPES[".pdf"]


def start_pdf_reading(document: Document, owner_id: int) -> None:
    """Queue OCR's page tasks for the document (on commit of the caller's transaction)."""
    readings.start_reading(
        SOURCE,
        document.doc_id,
        owner_id=owner_id,
        api_key_id=document.api_key_id,
        stored_name=document.stored_file,
        filename=document.filename,
        pages=document.pages,
    )


def awaits_pages(document: Document) -> bool:
    """A PDF whose pages are not taken yet."""
    return is_pdf(document) and not PageRow.objects.filter(document=document).exists()


def being_read(document: Document) -> bool:
    """A PDF whose pages OCR's page tasks are still reading."""
    if not awaits_pages(document):
        return False
    reading = readings.reading_progress(SOURCE, document.doc_id)
    return reading is not None and not reading.finished


def take_pages(document: Document, owner_id: int) -> bool:
    """Take a finished reading's pages into the document and charge the pages read, in
    one transaction. True when the pages are there to index; False while OCR still reads
    (the document goes back to ``queued``) or when the reading failed or is gone (the
    document is in ``error``, the pages read charged)."""
    with transaction.atomic():
        locked = Document.objects.select_for_update().filter(pk=document.pk).first()
        if locked is None:
            return False
        reading = readings.take_reading(SOURCE, document.doc_id)
        if reading is not None and not reading.finished:
            Document.objects.filter(pk=document.pk).update(
                status=Document.Status.QUEUED, queued_at=timezone.now()
            )
            return False
        ok = reading is not None and reading.status == OcrJob.Status.DONE
        if ok:
            save_read_pages(document, reading.texts)
        else:
            error = NOT_READ if reading is None else f"Reading the PDF failed. {reading.error}"
            Document.objects.filter(pk=document.pk).update(
                status=Document.Status.ERROR, error=error
            )
        read = reading.pages_read if reading is not None else 0
        settle_pdf_pages(locked, owner_id, read, ok=ok)
    return ok


def save_read_pages(document: Document, texts: list[str]) -> None:
    """One ``Page`` row per page read: its text, cleaned, as one paragraph."""
    pages = [[("p", text)] if (text := clean_text(raw)) else [] for raw in texts]
    PageRow.objects.bulk_create(
        [
            PageRow(document=document, number=n, text=page_text(page), blocks=page)
            for n, page in enumerate(pages, start=1)
        ],
        batch_size=500,
    )


def pdf_pages_read(document: Document) -> int:
    """Pages of the document whose text is in hand (its PDF's pages read so far)."""
    if not is_pdf(document) or document.status == Document.Status.READY:
        return document.pages
    reading = pages_read([document]).get(document.doc_id)
    if reading is not None:
        return reading
    return PageRow.objects.filter(document=document).count()


def pages_read(documents: list[Document]) -> dict[str, int]:
    """Pages read so far of these documents' PDFs still being read (doc_id → pages)."""
    waiting = [
        d.doc_id
        for d in documents
        if is_pdf(d) and d.status in (Document.Status.QUEUED, Document.Status.PROCESSING)
    ]
    return readings.pages_read_of(SOURCE, waiting) if waiting else {}


def on_pages_read(sender, job: OcrJob, **kwargs) -> None:
    """OCR finished reading a document's PDF: queue its indexing, which takes the pages."""
    if job.source != SOURCE:
        return
    with transaction.atomic():
        queued = Document.objects.filter(
            doc_id=job.reference, status=Document.Status.QUEUED
        ).update(queued_at=timezone.now())
        pk = Document.objects.filter(doc_id=job.reference).values_list("pk", flat=True).first()
        if queued and pk is not None:
            queue_indexing(pk)
