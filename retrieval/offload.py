"""Heavy retrieval work (queries, ingest, deletion) on threads of its own.

The API's lean ASGI handler (``portal.asgi``) runs the synchronous work of every
``/v1`` request — key snapshots, funds reservations — on asgiref's one process-wide
sync thread. A query or an extraction that ran there for seconds made every other
request of the process wait behind it (a priced chat waited 45 s behind one hostile
query). ``offload`` runs such work on a small pool of its own (``RETRIEVAL_THREADS``),
off the event loop and off that thread, and checks the thread's database connections
before and after, as ``request_started`` / ``request_finished`` would.

A database lock wait that ran out (SQLite's busy timeout) leaves as a 503 with
``Retry-After``. When the awaiting request is cancelled (its client went away), the thread cannot be
interrupted; the work's ``QueryBudget`` is cancelled instead, and the query stops at
its next checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import OperationalError, close_old_connections

from ground.db import RETRY_AFTER_SECONDS, is_lock_timeout
from ground.errors import ApiError
from retrieval.spelling import QueryBudget, QueryCancelled

log = logging.getLogger(__name__)
T = TypeVar("T")
_executor: ThreadPoolExecutor | None = None


def executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(
            max_workers=settings.RETRIEVAL_THREADS, thread_name_prefix="retrieval"
        )
    return _executor


def _with_fresh_connections(fn: Callable[..., T], *args, **kwargs) -> T:
    close_old_connections()
    try:
        return fn(*args, **kwargs)
    except QueryCancelled:
        log.info("A cancelled retrieval query stopped at a checkpoint")
        raise
    finally:
        close_old_connections()


async def offload(fn: Callable[..., T], *args, budget: QueryBudget | None = None, **kwargs) -> T:
    """``fn(*args, **kwargs)`` on the retrieval threads; with ``budget``,
    ``fn(*args, budget=budget, **kwargs)``, and cancelling the caller cancels it."""
    run = sync_to_async(_with_fresh_connections, thread_sensitive=False, executor=executor())
    if budget is not None:
        kwargs["budget"] = budget
    try:
        return await run(fn, *args, **kwargs)
    except asyncio.CancelledError:
        if budget is not None:
            budget.cancel()
            log.info("A retrieval query was cancelled: its client went away")
        raise
    except OperationalError as exc:
        if not is_lock_timeout(exc):
            raise
        # An ApiError, so that admission records the refusal (free) and its headers.
        raise ApiError(
            503,
            "The database is busy with another write; try again in a moment.",
            code="database_busy",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None
