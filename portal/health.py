"""Liveness and readiness: ``/healthz`` says the process is up, ``/readyz`` that its parts answer."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from portal.celery import app


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    key = "readyz:probe"
    token = str(time.monotonic_ns())
    cache.set(key, token, 10)
    if cache.get(key) != token:
        raise RuntimeError("cache did not return the value just written")


def check_broker() -> None:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.READYZ_TIMEOUT_SECONDS)
        # Opening a channel proves the transport answers, not only that a socket opened.
        conn.default_channel  # noqa: B018


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}


def run_checks() -> dict[str, str]:
    """Each part → "ok" or the reason it failed."""
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; the reason is reported
            results[name] = f"error: {type(exc).__name__}: {exc}"[:300]
        else:
            results[name] = "ok"
    return results
