from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

from usage.drain import drain_usage as drain_usage_flow

DRAIN_REQUEST_KEY = "usage:drain-requested"


@shared_task(ignore_result=True)
def drain_usage() -> int:
    return drain_usage_flow()


def request_drain() -> None:
    """Ask the worker to drain now rather than at its next beat (at most once a second):
    for a page that found the user's own events still pending. Never drains inline."""
    if cache.add(DRAIN_REQUEST_KEY, 1, timeout=1):
        drain_usage.delay()
