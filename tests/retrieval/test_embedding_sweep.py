# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""An embedding task lost mid-way (its worker killed with SIGKILL, or never delivered)
no longer leaves a document ``dense_status: pending`` for ever: the sweep queues its
embedding again once no batch was written for ``RETRIEVAL_EMBED_LOST_SECONDS`` (it goes
on from the passages without a vector, counting none twice), and gives up after
``RETRIEVAL_RETRY_CAP`` lost tasks. A real worker embeds through the fake upstream, slowed
so it can be killed between batches; time is given to the sweep explicitly."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from portal.celery import app as celery_app
from retrieval import collections, documents, embedding_jobs, indexing, ingest, querying
from retrieval.models import Chunk, Document
from retrieval.tasks import sweep_embeddings
from tests.gateway.conftest import catalog, fake, upstream  # noqa: F401 - fixtures
from tests.support.processes import CeleryWorker, child_env, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_shared_worker")]
PAGES = [f"Page {n} tells of harbour number {n} and its ships." for n in range(70)]


@pytest.fixture
def dense_on(settings, catalog):
    settings.RETRIEVAL_EMBEDDING_MODEL = "fake-embed"


def later(seconds: int | None = None) -> timezone.datetime:
    bound = settings.RETRIEVAL_EMBED_LOST_SECONDS if seconds is None else seconds
    return timezone.now() + timedelta(seconds=bound + 1)


def status(alice, document: Document) -> dict:
    return documents.document_status(alice, document.collection.collection_id, document.doc_id)


def test_an_embedding_whose_worker_was_killed_is_queued_again_and_finished_once(
    alice, dense_on, fake
):
    fake.configure(latency_ms=1500)  # each batch of 32 passages takes a while
    celery_app.conf.task_always_eager = False
    worker = CeleryWorker(
        child_env(CELERY_TASK_ALWAYS_EAGER="0", RETRIEVAL_EMBEDDING_MODEL="fake-embed")
    )
    try:
        worker.wait_ready()
        cid = collections.create_collection(alice).collection_id
        document = ingest.ingest_pages(alice, cid, "Harbours", None, PAGES)

        def first_batch_written() -> bool:
            row = Document.objects.get(pk=document.pk)
            return row.dense_status == "pending" and row.embedded_passages > 0

        wait_for(first_batch_written, timeout=120, what="the first batch of vectors")
        os.killpg(worker.proc.pid, signal.SIGKILL)  # the worker and its pool, no goodbye
        worker.proc.wait(timeout=10)
    finally:
        celery_app.conf.task_always_eager = True
        worker.stop()
    fake.configure(latency_ms=0)
    row = Document.objects.get(pk=document.pk)
    assert row.dense_status == "pending" and 0 < row.embedded_passages < len(PAGES)
    done_before = row.embedded_passages

    assert embedding_jobs.sweep_embeddings() == 0  # a batch was written just now
    calls = len([r for r in fake.requests() if r["path"] == "/v1/embeddings"])
    # Lost: queued again (this process runs tasks at once), from where it stopped.
    assert embedding_jobs.sweep_embeddings(now=later()) == 1
    shown = status(alice, row)
    assert (shown["status"], shown["dense_status"]) == ("ready", "ready")
    assert shown["embedded_passages"] == shown["passages"] == len(PAGES)
    assert not Chunk.objects.filter(document=row, embedding__isnull=True).exists()
    assert Document.objects.get(pk=row.pk).dense_requeues == 1
    resumed = [r for r in fake.requests() if r["path"] == "/v1/embeddings"][calls:]
    assert sum(len(r["body"]["input"]) for r in resumed) == len(PAGES) - done_before
    assert embedding_jobs.sweep_embeddings(now=later()) == 0  # nothing pending


def test_an_embedding_task_never_delivered_is_queued_again(alice, dense_on):
    cid = collections.create_collection(alice).collection_id
    celery_app.conf.task_always_eager = False
    try:
        document = ingest.ingest_pages(alice, cid, "Harbours", None, PAGES[:3])
        # Indexed here at once; its embedding task goes to the broker, for no worker.
        indexing.process_document(document.pk)
    finally:
        celery_app.conf.task_always_eager = True
    assert status(alice, document)["dense_status"] == "pending"
    assert embedding_jobs.sweep_embeddings(now=later(-60)) == 0  # not long enough yet
    assert sweep_embeddings() == 0  # the beat task, now
    assert embedding_jobs.sweep_embeddings(now=later()) == 1
    shown = status(alice, document)
    assert (shown["dense_status"], shown["embedded_passages"]) == ("ready", 3)


def test_an_embedding_lost_too_often_fails_and_the_document_stays_found_lexically(
    alice, dense_on, settings
):
    settings.RETRIEVAL_RETRY_CAP = 0
    cid = collections.create_collection(alice).collection_id
    celery_app.conf.task_always_eager = False
    try:
        document = ingest.ingest_pages(alice, cid, "Harbours", None, PAGES[:3])
        indexing.process_document(document.pk)
    finally:
        celery_app.conf.task_always_eager = True
    assert embedding_jobs.sweep_embeddings(now=later()) == 1
    shown = status(alice, document)
    assert shown["dense_status"] == "failed"
    assert "stopped 1 times without finishing" in shown["dense_error"]
    assert "reembed --unfinished" in shown["dense_error"]
    answer = querying.query(alice, cid, "harbour number 2")
    assert answer["context"][0]["page_start"] == 3


def test_the_embedding_sweep_is_a_beat_task():
    entries = settings.CELERY_BEAT_SCHEDULE.values()
    assert any(e["task"] == "retrieval.tasks.sweep_embeddings" for e in entries)
    assert "retrieval.tasks.sweep_embeddings" in celery_app.tasks
