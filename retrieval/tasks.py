"""Celery tasks: thin wrappers around ``retrieval.indexing`` (the use cases queue them by
name, see ``retrieval.queueing``, and import nothing from here)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from retrieval import embedding_jobs, indexing, store_expiry


# The longest task there is: its hard limit is what the broker's visibility timeout is
# set above (BROKER_VISIBILITY_TIMEOUT). A PDF's pages are read before, by OCR's tasks.
@shared_task(ignore_result=True, acks_late=True, time_limit=settings.RETRIEVAL_TASK_TIME_LIMIT)
def index_document(document_pk: int) -> None:
    indexing.process_document(document_pk)


@shared_task(ignore_result=True)
def sweep_documents() -> int:
    return indexing.sweep_documents()


# Vectors after the lexical index: a batch is one embedding call, so a task of a long
# document runs for a while; acks_late: a worker lost mid-way leaves the rest to a
# redelivered task (or ``manage.py reembed --unfinished``), which starts where it stopped.
@shared_task(ignore_result=True, acks_late=True, time_limit=settings.RETRIEVAL_TASK_TIME_LIMIT)
def embed_document(document_pk: int) -> None:
    embedding_jobs.embed_document(document_pk)


@shared_task(ignore_result=True)
def expire_vector_stores() -> int:
    return store_expiry.expire_stores()


@shared_task(ignore_result=True)
def sweep_embeddings() -> int:
    return embedding_jobs.sweep_embeddings()
