"""The ASGI door: what a request may be before any of Portico's code reads it.

* **Bounded bodies.** Every path has a body limit (``body_limit``): uploads their
  configured size, ``/v1`` JSON endpoints ``API_MAX_BODY_MB``, pages
  ``PAGE_MAX_BODY_MB``. A request whose ``Content-Length`` is over the limit is answered
  413 before its body is read; one that streams (chunked) more than the limit is cut off
  and answered 413 as soon as it crosses it. A chunked body within its limit is spooled
  and handed on with a ``Content-Length``, so multipart parsing sees the whole upload.
* **No NUL or control characters in the path or query string**: answered 400, so no
  such value reaches a query (PostgreSQL refuses NUL in text).

Answers under ``/v1`` are in the API's error format; pages get plain text.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Awaitable, Callable

import orjson
from django.conf import settings

from ground.ids import new_request_id

MB = 1024 * 1024
ENVELOPE_BYTES = 64 * 1024  # multipart boundaries and headers around an upload
SPOOL_IN_MEMORY = 1 * MB
API_PREFIXES = ("/v1/", "/api/v1/")

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


def is_api(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def body_limit(path: str) -> int:
    """The most bytes a request to ``path`` may send."""
    api_path = path.removeprefix("/api")
    if api_path == "/v1/ocr/upload" or path == "/ocr/":
        return settings.OCR_MAX_UPLOAD_MB * MB + ENVELOPE_BYTES
    # A file uploaded with /v1/files is checked as an ingest is: the same limit.
    if api_path.startswith("/v1/alRetrieval/") or api_path == "/v1/files":
        return settings.RETRIEVAL_MAX_UPLOAD_MB * MB + ENVELOPE_BYTES
    if path.startswith("/retrieval/"):
        return settings.RETRIEVAL_MAX_UPLOAD_MB * MB + ENVELOPE_BYTES
    if is_api(path):
        return settings.API_MAX_BODY_MB * MB
    return settings.PAGE_MAX_BODY_MB * MB


# A control byte, raw or percent-encoded (%00-%1F, %7F): one search, no decoding.
CONTROL = re.compile(rb"%(?:[01][0-9A-Fa-f]|7[Ff])|[\x00-\x1f\x7f]")


def has_control_characters(scope: Scope) -> bool:
    raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogatepass")
    return bool(CONTROL.search(raw_path) or CONTROL.search(scope.get("query_string", b"")))


def content_length(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            return value
    return None


async def refuse(scope: Scope, send: Send, status: int, message: str, code: str) -> None:
    if is_api(scope.get("path", "")):
        error = {"message": message, "type": "invalid_request_error", "code": code, "param": None}
        if status == 413:
            error["type"] = "request_too_large"
        body = orjson.dumps({"error": error})
        content_type = b"application/json"
    else:
        body = message.encode()
        content_type = b"text/plain; charset=utf-8"
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", new_request_id().encode()),
        (b"server-timing", b"gateway;dur=0"),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def too_large_message(limit: int) -> str:
    return f"The request body is larger than this endpoint accepts ({limit / MB:.1f} MB at most)."


class RequestGuard:
    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if has_control_characters(scope):
            return await refuse(
                scope,
                send,
                400,
                "The URL contains control characters (such as NUL).",
                "invalid_url",
            )
        limit = body_limit(scope["path"])
        declared = content_length(scope)
        if declared is not None:
            if not declared.isdigit() or int(declared) > limit:
                return await refuse(scope, send, 413, too_large_message(limit), "request_too_large")
            return await self.app(scope, counted(receive, limit), send)
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        # Chunked: spool it (bounded), then hand it on with its length.
        spooled = await spool(receive, limit)
        if spooled is None:
            return await refuse(scope, send, 413, too_large_message(limit), "request_too_large")
        body, size = spooled
        scope = dict(scope)
        scope["headers"] = [*scope.get("headers", []), (b"content-length", str(size).encode())]
        try:
            await self.app(scope, replay(body, receive), send)
        finally:
            body.close()


def counted(receive: Receive, limit: int) -> Receive:
    """``receive`` that turns a body longer than its declared limit into a disconnect."""
    seen = 0

    async def guarded() -> dict:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                return {"type": "http.disconnect"}
        return message

    return guarded


async def spool(receive: Receive, limit: int):
    """The whole body in a spooled file and its size, or None past ``limit``."""
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - the caller closes it
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            body.close()
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            body.close()
            return None
        body.write(chunk)
        if not message.get("more_body"):
            body.seek(0)
            return body, size


def replay(body, receive: Receive) -> Receive:
    """Feed a spooled body to the app in 64 KB messages, then pass on what follows."""
    done = False

    async def replayed() -> dict:
        nonlocal done
        if done:
            return await receive()
        chunk = body.read(64 * 1024)
        more = bool(chunk) and body.tell() < body_size(body)
        if not more:
            done = True
        return {"type": "http.request", "body": chunk, "more_body": more}

    return replayed


def body_size(body) -> int:
    position = body.tell()
    body.seek(0, 2)
    size = body.tell()
    body.seek(position)
    return size
