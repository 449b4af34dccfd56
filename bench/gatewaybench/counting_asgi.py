"""Portico's ASGI application with counters: what one /v1 request costs in thread hops,
threads, asyncio tasks and SQL queries.

    uvicorn gatewaybench.counting_asgi:application     # with bench/ on PYTHONPATH

``GET /__bench/counts`` answers the counts since the previous call (and resets them).
The counters wrap asgiref's ``SyncToAsync.__call__``, ``threading.Thread.start``,
``asyncio.create_task`` and Django's cursor ``execute``: the application itself is
unchanged, so the counts say what the real code does per request.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import orjson
from asgiref.sync import SyncToAsync

from portal.asgi import application as portico

COUNTS: Counter[str] = Counter()
COUNTS_PATH = "/__bench/counts"


def qualified_name(func: Any) -> str:
    func = getattr(func, "__func__", func)
    func = getattr(func, "__wrapped__", func)
    name = getattr(func, "__qualname__", None) or type(func).__qualname__
    module = getattr(func, "__module__", "") or ""
    return f"{module.split('.')[0]}: {name}" if module else name


_sync_to_async_call = SyncToAsync.__call__


async def _counted_sync_to_async(self: SyncToAsync, *args: Any, **kwargs: Any) -> Any:
    COUNTS[f"sync_to_async hop → {qualified_name(self.func)}"] += 1
    return await _sync_to_async_call(self, *args, **kwargs)


_thread_start = threading.Thread.start


def _counted_thread_start(self: threading.Thread) -> None:
    COUNTS["thread started"] += 1
    _thread_start(self)


_create_task = asyncio.create_task


def _counted_create_task(coro: Any, **kwargs: Any) -> asyncio.Task:
    COUNTS["asyncio.create_task"] += 1
    return _create_task(coro, **kwargs)


def _count_sql() -> None:
    from django.db.backends import utils

    execute, executemany = utils.CursorWrapper.execute, utils.CursorWrapper.executemany

    def counted_execute(self: Any, sql: Any, params: Any = None) -> Any:
        COUNTS["SQL query"] += 1
        return execute(self, sql, params)

    def counted_executemany(self: Any, sql: Any, param_list: Any) -> Any:
        COUNTS["SQL query"] += 1
        return executemany(self, sql, param_list)

    utils.CursorWrapper.execute = counted_execute
    utils.CursorWrapper.executemany = counted_executemany


SyncToAsync.__call__ = _counted_sync_to_async  # type: ignore[method-assign]
threading.Thread.start = _counted_thread_start  # type: ignore[method-assign]
asyncio.create_task = _counted_create_task  # type: ignore[assignment]
_count_sql()


async def application(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"] == COUNTS_PATH:
        body = orjson.dumps(dict(COUNTS))
        COUNTS.clear()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return
    if scope["type"] == "http":
        COUNTS["requests"] += 1
    await portico(scope, receive, send)
