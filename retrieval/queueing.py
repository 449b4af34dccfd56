"""Queuing a document's indexing task by name: ``retrieval.tasks`` imports the use cases,
never the other way round."""

from __future__ import annotations

from celery import current_app
from django.db import transaction

INDEX_DOCUMENT = "retrieval.tasks.index_document"


def queue_indexing(document_pk: int) -> None:
    """Queue the indexing task once the caller's transaction commits (at once outside one)."""
    task = current_app.signature(INDEX_DOCUMENT, args=(document_pk,))
    transaction.on_commit(task.delay)
