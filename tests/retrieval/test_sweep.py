"""A worker killed (SIGKILL) in the middle of a document: the sweep notices its stopped
heartbeat, queues the document again (another worker indexes it, counting nothing
twice) or gives up on it with a clear error. Real worker processes, real kills; the
broker is the suite's (Redis with ``REDIS_URL``, whose visibility timeout would
otherwise keep the document "processing" for an hour)."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from portal.celery import app as celery_app
from retrieval import collections, documents, indexing, ingest
from retrieval.models import Chunk, Collection, Document, Posting
from retrieval.tasks import index_document
from tests.support.processes import CeleryWorker, child_env, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_shared_worker")]
WORDS = [
    "harbour",
    "lighthouse",
    "keeper",
    "counted",
    "ships",
    "sailing",
    "past",
    "the",
    "northern",
    "cape",
    "at",
    "dawn",
]


@pytest.fixture
def workers():
    """Real Celery workers started by the test (and stopped after it, killed or not)."""
    started: list[CeleryWorker] = []
    celery_app.conf.task_always_eager = False

    def start() -> CeleryWorker:
        worker = CeleryWorker(child_env(CELERY_TASK_ALWAYS_EAGER="0"))
        started.append(worker)
        worker.wait_ready()
        return worker

    try:
        yield start
    finally:
        celery_app.conf.task_always_eager = True
        for worker in started:
            worker.stop()


def kill(worker: CeleryWorker) -> None:
    os.killpg(worker.proc.pid, signal.SIGKILL)  # the worker and its pool, no goodbye
    worker.proc.wait(timeout=10)


def big_document(alice) -> tuple[str, Document]:
    """Long enough to take seconds to index (many batches of passages)."""
    cid = collections.create_collection(alice).collection_id
    page = " ".join(WORDS[(n * 7) % len(WORDS)] + str(n % 97) for n in range(400))
    doc = ingest.ingest_pages(alice, cid, "Log", None, [page] * 1_500)
    return cid, doc


def processing(doc: Document) -> bool:
    row = Document.objects.get(pk=doc.pk)
    return row.status == Document.Status.PROCESSING and Chunk.objects.filter(document=doc).exists()


def after_the_stall_time():
    return timezone.now() + timedelta(seconds=settings.RETRIEVAL_STALL_SECONDS + 1)


def test_a_document_whose_worker_was_killed_is_queued_again_and_indexed_once(alice, workers):
    cid, doc = big_document(alice)
    first = workers()
    wait_for(lambda: processing(doc), timeout=120, what="indexing to start")
    kill(first)
    assert Document.objects.get(pk=doc.pk).status == Document.Status.PROCESSING
    assert indexing.sweep_documents() == 0  # its heartbeat is recent: not lost yet
    assert indexing.sweep_documents(now=after_the_stall_time()) == 1
    row = Document.objects.get(pk=doc.pk)
    assert (row.status, row.requeues) == (Document.Status.QUEUED, 1)
    workers()
    wait_for(
        lambda: documents.document_status(alice, cid, doc.doc_id)["status"] == "ready",
        timeout=300,
        what="another worker to index the document",
    )
    # Counted once: the passages of one run only, statistics equal to them.
    chunks = Chunk.objects.filter(document=doc)
    ordinals = list(chunks.values_list("ordinal", flat=True))
    assert len(ordinals) == len(set(ordinals)) == max(ordinals) + 1
    collection = Collection.objects.get(collection_id=cid)
    assert collection.chunk_count == len(ordinals)
    assert collection.total_length == chunks.aggregate(total=Sum("length"))["total"]
    assert Posting.objects.filter(document_id=doc.pk).values("chunk_id").distinct().count() == len(
        ordinals
    )


def test_a_document_lost_too_often_fails_with_a_clear_error_and_no_half_index(
    alice, workers, settings
):
    settings.RETRIEVAL_RETRY_CAP = 0
    cid, doc = big_document(alice)
    worker = workers()
    wait_for(lambda: processing(doc), timeout=120, what="indexing to start")
    kill(worker)
    assert indexing.sweep_documents(now=after_the_stall_time()) == 1
    status = documents.document_status(alice, cid, doc.doc_id)
    assert status["status"] == "error"
    assert "stopped 1 times without finishing" in status["error"]
    assert "Ingest the document again" in status["error"]
    assert not Chunk.objects.filter(document=doc).exists()
    assert not Posting.objects.filter(document_id=doc.pk).exists()
    assert Collection.objects.get(collection_id=cid).chunk_count == 0


def test_a_document_never_taken_from_the_queue_is_queued_again(alice, settings):
    cid = collections.create_collection(alice).collection_id
    celery_app.conf.task_always_eager = False  # queued; no worker takes it here
    try:
        doc = ingest.ingest_pages(alice, cid, "Notes", None, ["The harbour had a lighthouse."])
    finally:
        celery_app.conf.task_always_eager = True
    later = timezone.now() + timedelta(seconds=settings.RETRIEVAL_LOST_SECONDS + 1)
    assert indexing.sweep_documents(now=later) == 1  # queued again: eager here, so indexed
    assert documents.document_status(alice, cid, doc.doc_id)["status"] == "ready"
    assert Document.objects.get(pk=doc.pk).requeues == 1


def test_a_redelivered_task_leaves_a_document_another_worker_is_on(alice):
    cid = collections.create_collection(alice).collection_id
    celery_app.conf.task_always_eager = False
    try:
        doc = ingest.ingest_pages(alice, cid, "Notes", None, ["The harbour had a lighthouse."])
    finally:
        celery_app.conf.task_always_eager = True
    run = indexing.claim(doc.pk)  # a worker has it, and its heartbeat is fresh
    assert run == 1
    index_document(doc.pk)  # the broker's copy of the same task
    row = Document.objects.get(pk=doc.pk)
    assert (row.status, row.run) == (Document.Status.PROCESSING, 1)
    assert not Chunk.objects.filter(document=doc).exists()


def test_the_brokers_visibility_timeout_exceeds_the_longest_task():
    longest = celery_app.tasks["retrieval.tasks.index_document"].time_limit
    assert longest == settings.RETRIEVAL_TASK_TIME_LIMIT
    assert longest < settings.BROKER_VISIBILITY_TIMEOUT
    if settings.CELERY_BROKER_URL.startswith("redis"):
        options = celery_app.conf.broker_transport_options
        assert options["visibility_timeout"] == settings.BROKER_VISIBILITY_TIMEOUT


def test_documents_left_processing_before_heartbeats_existed_are_swept_too(alice, settings):
    cid = collections.create_collection(alice).collection_id
    doc = ingest.ingest_pages(alice, cid, "Notes", None, ["The harbour had a lighthouse."])
    long_ago = timezone.now() - timedelta(seconds=settings.RETRIEVAL_LOST_SECONDS + 1)
    Document.objects.filter(pk=doc.pk).update(  # as the release before left it
        status=Document.Status.PROCESSING, heartbeat_at=None, queued_at=None, created_at=long_ago
    )
    assert indexing.sweep_documents() == 1
    assert documents.document_status(alice, cid, doc.doc_id)["status"] == "ready"  # eager here
