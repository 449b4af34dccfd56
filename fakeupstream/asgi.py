"""Thin helpers over raw ASGI: body reading, responses, SSE, disconnect detection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

JSON_HEADERS: Headers = [(b"content-type", b"application/json")]
SSE_HEADERS: Headers = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
]


class DropConnection(Exception):
    """Raised mid-response to make the server abort the connection (no clean end)."""


class _HideExpectedErrors(logging.Filter):
    """Drops uvicorn's error records for things this server does on purpose: aborting a
    stream (:class:`DropConnection`) and hanging requests cancelled at shutdown."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, DropConnection | asyncio.CancelledError):
            return False
        return "timeout graceful shutdown exceeded" not in str(record.msg)


_filter_installed = False


def hide_expected_error_logs() -> None:
    """Install :class:`_HideExpectedErrors` on uvicorn's error logger (once)."""
    global _filter_installed
    if not _filter_installed:
        logging.getLogger("uvicorn.error").addFilter(_HideExpectedErrors())
        _filter_installed = True


class Conn:
    """One HTTP request/response exchange.

    Disconnects are noticed by a watcher task awaiting ``receive()`` once the body is read;
    it is only started when the handler may wait (sleeps, streams), so plain fast requests
    cost no extra task.
    """

    __slots__ = ("_watcher", "disconnected", "receive", "send", "started")

    def __init__(self, receive: Receive, send: Send) -> None:
        self.receive = receive
        self.send = send
        self.disconnected = False
        self.started = False
        self._watcher: asyncio.Task[None] | None = None

    async def read_body(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def watch(self) -> None:
        if self._watcher is None and not self.disconnected:
            self._watcher = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass
        self.disconnected = True

    async def sleep(self, seconds: float) -> bool:
        """Sleep unless the client goes away first; True if it is still connected."""
        self.watch()
        if seconds > 0 and self._watcher is not None:
            await asyncio.wait((self._watcher,), timeout=seconds)
        return not self.disconnected

    async def wait_disconnect(self) -> None:
        self.watch()
        if self._watcher is not None:
            await asyncio.wait((self._watcher,))

    def close(self) -> None:
        if self._watcher is not None and not self._watcher.done():
            self._watcher.cancel()

    # --- responses -------------------------------------------------------------------

    async def respond(self, status: int, body: bytes, headers: Headers) -> None:
        self.started = True
        await self.send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())],
            }
        )
        await self.send({"type": "http.response.body", "body": body})

    async def json(self, status: int, obj: Any, headers: Headers | None = None) -> None:
        body = orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)
        await self.respond(status, body, JSON_HEADERS + headers if headers else JSON_HEADERS)

    async def start_stream(self, headers: Headers = SSE_HEADERS) -> None:
        self.started = True
        await self.send({"type": "http.response.start", "status": 200, "headers": headers})

    async def write(self, data: bytes) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": True})

    async def end_stream(self, data: bytes = b"") -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": False})
