from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

from usage.drain import drain_usage as drain_usage_flow

DRAIN_REQUEST_KEY = "usage:drain-requested"


@shared_task(ignore_result=True)
def drain_usage() -> int:
    # Beat runs this every second: with another drain at work, this one has nothing to do
    # (waiting would hold a worker process that OCR pages could use).
    return drain_usage_flow(wait=False)


def request_drain() -> None:
    """Ask the worker to drain now rather than at its next beat (at most once a second):
    for a page that found the user's own events still pending. Never drains inline."""
    if cache.add(DRAIN_REQUEST_KEY, 1, timeout=1):
        drain_usage.delay()
