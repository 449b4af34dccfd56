"""Indexing a document in the background (the body of ``retrieval.tasks.index_document``)
and the sweep that finds documents whose task was lost.

A task claims its document (``processing``) and keeps a heartbeat on it while it
works: after each PDF page read and each batch of passages written. A worker killed
with its task (SIGKILL, OOM, a lost machine) leaves a document whose heartbeat stops;
the broker would deliver the task again only after its visibility timeout (an hour by
default with Redis), so ``sweep_documents`` (beat, every 30 s) queues it again once
its heartbeat is ``RETRIEVAL_STALL_SECONDS`` old, or once it waited
``RETRIEVAL_LOST_SECONDS`` in the queue without a worker taking it, and gives up with
a clear error after ``RETRIEVAL_RETRY_CAP`` lost tasks.

A PDF is read page by page, each page saved as it is read, so a task that is queued
again resumes where the last one stopped; a task reads for at most
``RETRIEVAL_TASK_SECONDS`` and then queues its own continuation, which bounds the
longest task (the broker's visibility timeout is set above it).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ocr import engine
from ocr import storage as ocr_storage
from ocr.reading import read_page
from retrieval.charges import settle_pdf_pages
from retrieval.extract import ExtractionError
from retrieval.filetypes import MIME_TYPES
from retrieval.index import index_document, prepare_index, remove_from_index, remove_in_batches
from retrieval.ingest import save_pages
from retrieval.models import Document
from retrieval.models import Page as PageRow
from retrieval.queueing import queue_indexing
from retrieval.text import clean_text

log = logging.getLogger(__name__)
FAILED = "Indexing failed on our side; ingest the document again."


def beat(document_pk: int) -> None:
    Document.objects.filter(pk=document_pk).update(heartbeat_at=timezone.now())


def claim(document_pk: int) -> int | None:
    """Take the document for this task: queued, or processing with a stopped heartbeat
    (a worker that died). ``None`` when it is ready, failed, gone, or another worker is
    on it (a redelivered copy of its task); else this claim's run number, which the
    writes check: a task whose document was claimed again since writes nothing more."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.RETRIEVAL_STALL_SECONDS)
    takeable = Q(status=Document.Status.QUEUED) | Q(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale),
        status=Document.Status.PROCESSING,
    )
    with transaction.atomic():
        claimed = Document.objects.filter(takeable, pk=document_pk).update(
            status=Document.Status.PROCESSING, heartbeat_at=now, run=F("run") + 1
        )
        if not claimed:
            return None
        return Document.objects.filter(pk=document_pk).values_list("run", flat=True).first()


def queue(document: Document | int) -> None:
    """Queue the indexing task (on commit) and note when."""
    pk = document if isinstance(document, int) else document.pk
    Document.objects.filter(pk=pk).update(queued_at=timezone.now())
    queue_indexing(pk)


def process_document(document_pk: int) -> None:
    """Read (PDF) and index a queued document; a failure leaves it in ``error``."""
    run = claim(document_pk)
    if run is None:
        return
    document = Document.objects.select_related("collection").filter(pk=document_pk).first()
    if document is None:
        return
    try:
        if document.mime_type == MIME_TYPES[".pdf"] and not read_pdf(document):
            with transaction.atomic():  # read on in a task of its own
                Document.objects.filter(pk=document_pk).update(status=Document.Status.QUEUED)
                queue(document_pk)
            return
        prepared = prepare_index(document)  # embedding (an upstream call) holds no lock
        beat(document_pk)
        index_document(document, prepared, run=run, heartbeat=lambda: beat(document_pk))
    except (ExtractionError, engine.PdfError) as exc:
        fail(document_pk, exc.message)
    except Exception:
        log.exception("Indexing document %s failed", document.doc_id)
        fail(document_pk, FAILED)
    settle_pdf_pages(document_pk)


def fail(document_pk: int, message: str) -> None:
    """The document fails, and whatever part of it was indexed goes."""
    document = Document.objects.filter(pk=document_pk).first()
    if document is not None:
        remove_in_batches(document)
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_pk).first()
        if document is None:
            return
        remove_from_index(document)
        Document.objects.filter(pk=document_pk).update(status=Document.Status.ERROR, error=message)


def read_pdf(document: Document) -> bool:
    """Read the pages not read yet, saving each; False when the time is up first."""
    source = ocr_storage.pdf_source(document.stored_file)  # a local path, else the bytes
    done = set(PageRow.objects.filter(document=document).values_list("number", flat=True))
    deadline = time.monotonic() + settings.RETRIEVAL_TASK_SECONDS
    read = 0
    for number in range(1, document.pages + 1):
        if number in done:
            continue
        if read and time.monotonic() > deadline:  # every task reads at least a page
            return False
        read += 1
        result = read_page(source, number, dpi=settings.OCR_DPI)  # OCR's pdfium lock
        text = clean_text(result.text)
        with transaction.atomic():
            PageRow.objects.filter(document=document, number=number).delete()
            save_pages(document, [[("p", text)] if text else []], first=number)
        beat(document.pk)
    return True


def sweep_documents(now=None, limit: int = 200) -> int:
    """Queue again the documents whose task was lost (see the module docstring); give up
    on those lost ``RETRIEVAL_RETRY_CAP`` times."""
    now = now or timezone.now()
    stall = now - timedelta(seconds=settings.RETRIEVAL_STALL_SECONDS)
    lost = now - timedelta(seconds=settings.RETRIEVAL_LOST_SECONDS)
    # Documents from before heartbeats were kept have none: their age stands in.
    stalled = Q(status=Document.Status.PROCESSING) & (
        Q(heartbeat_at__lt=stall) | Q(heartbeat_at__isnull=True, created_at__lt=stall)
    )
    never_taken = Q(status=Document.Status.QUEUED) & (
        Q(queued_at__lt=lost) | Q(queued_at__isnull=True, created_at__lt=lost)
    )
    count = 0
    for document in Document.objects.filter(stalled | never_taken)[:limit]:
        if document.requeues >= settings.RETRIEVAL_RETRY_CAP:
            fail(
                document.pk,
                f"Indexing stopped {document.requeues + 1} times without finishing (a worker "
                "stopped or the queue lost the task). Ingest the document again, or re-index "
                "it once workers are running.",
            )
            settle_pdf_pages(document.pk)
            log.warning("Document %s: indexing lost too often, given up", document.doc_id)
        else:
            with transaction.atomic():
                again = Document.objects.filter(pk=document.pk, status=document.status).update(
                    status=Document.Status.QUEUED, requeues=document.requeues + 1
                )
                if again:
                    queue(document.pk)
                    log.warning("Document %s: indexing task lost, queued again", document.doc_id)
        count += 1
    return count
