"""Queueing a Celery task by name once the current transaction commits.

A use case queues its app's task without importing the task module (which imports the
use case): the task is named, not imported, so no import runs in a circle. Like
``Task.delay_on_commit``, a rolled-back transaction never starts the task; outside a
transaction it is queued at once. An eagerly run app (``CELERY_TASK_ALWAYS_EAGER``) runs
it inline, as it would a task queued through its object.
"""

from __future__ import annotations

from celery import signature
from django.db import transaction


def queue_after_commit(task: str, *args, **kwargs) -> None:
    """Queue ``task`` (its registered name, ``"billing.tasks.send_low_balance_email"``)."""
    transaction.on_commit(lambda: signature(task, args=args, kwargs=kwargs).apply_async())
