"""Celery tasks: thin wrappers around ``retrieval.flows``."""

from __future__ import annotations

from celery import shared_task

from retrieval import flows


@shared_task(ignore_result=True, acks_late=True)
def index_document(document_pk: int) -> None:
    flows.process_document(document_pk)
