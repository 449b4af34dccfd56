"""Celery tasks: thin wrappers around ``retrieval.indexing`` (the use cases queue them by
name, see ``retrieval.queueing``, and import nothing from here)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from retrieval import indexing


# The longest task there is: its hard limit is what the broker's visibility timeout is
# set above (BROKER_VISIBILITY_TIMEOUT). A PDF's pages are read before, by OCR's tasks.
@shared_task(ignore_result=True, acks_late=True, time_limit=settings.RETRIEVAL_TASK_TIME_LIMIT)
def index_document(document_pk: int) -> None:
    indexing.process_document(document_pk)


@shared_task(ignore_result=True)
def sweep_documents() -> int:
    return indexing.sweep_documents()
