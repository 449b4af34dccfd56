"""Queuing a document's indexing and embedding tasks by name: ``retrieval.tasks`` imports the use cases,
never the other way round."""

from __future__ import annotations

from celery import current_app
from django.db import transaction

INDEX_DOCUMENT = "retrieval.tasks.index_document"
EMBED_DOCUMENT = "retrieval.tasks.embed_document"


def queue_indexing(document_pk: int) -> None:
    """Queue the indexing task once the caller's transaction commits (at once outside one)."""
    task = current_app.signature(INDEX_DOCUMENT, args=(document_pk,))
    transaction.on_commit(task.delay)


def queue_embedding(document_pk: int) -> None:
    """Queue the task that gives a ready document's passages their vectors (on commit)."""
    task = current_app.signature(EMBED_DOCUMENT, args=(document_pk,))
    transaction.on_commit(task.delay)
