"""Indexing a document in the background (the body of ``retrieval.tasks.index_document``)
and the sweep that finds documents whose task was lost.

A task claims its document (``processing``) and keeps a heartbeat on it while it
works: after each batch of passages written. A worker killed
with its task (SIGKILL, OOM, a lost machine) leaves a document whose heartbeat stops;
the broker would deliver the task again only after its visibility timeout (an hour by
default with Redis), so ``sweep_documents`` (beat, every 30 s) queues it again once
its heartbeat is ``RETRIEVAL_STALL_SECONDS`` old, or once it waited
``RETRIEVAL_LOST_SECONDS`` in the queue without a worker taking it, and gives up with
a clear error after ``RETRIEVAL_RETRY_CAP`` lost tasks.

A PDF's pages are read before, by OCR's page tasks (``retrieval.pdfreading``): its
task's first step takes them. A PDF still being read is no lost task: the sweep leaves
it alone (OCR's own sweep requeues its lost pages).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ocr import engine
from retrieval.charges import stop_pdf_reading
from retrieval.extract import ExtractionError
from retrieval.index import index_document, prepare_index, remove_from_index, remove_in_batches
from retrieval.models import Document
from retrieval.pdfreading import awaits_pages, being_read, take_pages
from retrieval.queueing import queue_indexing

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
    """Index a queued document (a PDF's pages taken first); a failure leaves it in ``error``."""
    run = claim(document_pk)
    if run is None:
        return
    document = Document.objects.select_related("collection").filter(pk=document_pk).first()
    if document is None:
        return
    try:
        if awaits_pages(document) and not take_pages(document, document.collection.owner_id):
            return  # still being read (queued again), or the reading failed (error)
        prepared = prepare_index(document)  # embedding (an upstream call) holds no lock
        beat(document_pk)
        index_document(document, prepared, run=run, heartbeat=lambda: beat(document_pk))
    except (ExtractionError, engine.PdfError) as exc:
        fail(document_pk, exc.message)
    except Exception:
        log.exception("Indexing document %s failed", document.doc_id)
        fail(document_pk, FAILED)


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
        if document.status == Document.Status.QUEUED and being_read(document):
            Document.objects.filter(pk=document.pk).update(queued_at=now)  # not lost
            continue
        if document.requeues >= settings.RETRIEVAL_RETRY_CAP:
            fail(
                document.pk,
                f"Indexing stopped {document.requeues + 1} times without finishing (a worker "
                "stopped or the queue lost the task). Ingest the document again, or re-index "
                "it once workers are running.",
            )
            if document.billing_request_id:  # a PDF: its reading stops, what it read is charged
                with transaction.atomic():
                    locked = Document.objects.select_for_update().get(pk=document.pk)
                    stop_pdf_reading(locked, document.collection.owner_id, "error", "ingest_failed")
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
