"""Calling providers: one pooled aiohttp session per process, one dialect per kind.

``open_chat`` / ``open_embeddings`` return an ``UpstreamReply`` speaking OpenAI's
wire format whatever the provider's kind: stream bytes pass through untouched for
OpenAI-compatible upstreams, and are translated event by event for Anthropic.
Failures that another deployment might not have (connection errors, timeouts,
429 and 5xx) raise ``RetryableUpstreamError``; the rest raise ``UpstreamError``.
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import aiohttp
import orjson
from django.conf import settings

from catalog.snapshots import DeploymentEntry
from gateway import local_provider
from gateway.adapters import (
    AdapterError,
    AnthropicStreamTranslator,
    from_anthropic_error,
    from_anthropic_response,
    to_anthropic_request,
)

ANTHROPIC_VERSION = "2023-06-01"
ANTHROPIC_DEFAULT_MAX_TOKENS = 4096


class UpstreamError(Exception):
    """The upstream answered in a way another deployment would not fix."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = (
            status,
            message,
            type,
            code,
            param,
        )


class RetryableUpstreamError(Exception):
    """Connection error, timeout, 429 or 5xx: worth trying the next deployment.

    ``status`` is the upstream's HTTP status (0 without one); a 429's ``retry_after``
    is its ``Retry-After`` in whole seconds, when it sent one we can read."""

    def __init__(
        self,
        reason: str,
        *,
        timeout: bool = False,
        status: int = 0,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timeout = timeout
        self.status = status
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: float | None = None) -> int | None:
    """``Retry-After`` as whole seconds (at least 1): delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds > 86_400:  # NaN, or not a wait worth passing on
        return None
    return max(1, math.ceil(seconds))


_sessions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def session() -> aiohttp.ClientSession:
    """The process's pooled session for the running event loop (one loop per server process)."""
    loop = asyncio.get_running_loop()
    current = _sessions.get(loop)
    if current is None or current.closed:
        connector = aiohttp.TCPConnector(
            limit=settings.UPSTREAM_MAX_CONNECTIONS,
            limit_per_host=0,
            ttl_dns_cache=300,
            keepalive_timeout=30,
            enable_cleanup_closed=True,
        )
        current = aiohttp.ClientSession(
            connector=connector,
            skip_auto_headers=("User-Agent",),
            headers={"User-Agent": "Portico/1"},
        )
        _sessions[loop] = current
    return current


@dataclass
class UpstreamReply:
    """An opened upstream response in OpenAI's format."""

    status: int = 200
    body: bytes | None = None  # non-streamed
    stream: AsyncIterator[bytes] | None = None  # streamed (SSE bytes)
    first: bytes = b""  # stream bytes already read while deciding failover
    response: aiohttp.ClientResponse | None = None
    translator: AnthropicStreamTranslator | None = None
    extra: dict = field(default_factory=dict)

    def close(self) -> None:
        if self.response is not None:
            # Closing (not releasing) drops the connection, which cancels the upstream work.
            self.response.close()


def timeouts(deployment: DeploymentEntry) -> aiohttp.ClientTimeout:
    p = deployment.provider
    return aiohttp.ClientTimeout(
        total=p.total_timeout, sock_connect=p.connect_timeout, sock_read=p.first_byte_timeout
    )


def openai_headers(deployment: DeploymentEntry) -> dict[str, str]:
    headers = {"Content-Type": "application/json", **deployment.provider.extra_headers}
    if deployment.provider.api_key:
        headers["Authorization"] = f"Bearer {deployment.provider.api_key}"
    return headers


def anthropic_headers(deployment: DeploymentEntry) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "anthropic-version": ANTHROPIC_VERSION,
        "x-api-key": deployment.provider.api_key,
        **deployment.provider.extra_headers,
    }


async def post(
    deployment: DeploymentEntry, path: str, payload: bytes, headers: dict
) -> aiohttp.ClientResponse:
    url = deployment.provider.base_url + path
    try:
        return await session().post(
            url, data=payload, headers=headers, timeout=timeouts(deployment)
        )
    except TimeoutError:
        raise RetryableUpstreamError(
            f"{deployment.provider.name}: timed out connecting or waiting for the response",
            timeout=True,
        ) from None
    except aiohttp.ClientError as exc:
        raise RetryableUpstreamError(
            f"{deployment.provider.name}: connection failed ({type(exc).__name__}: {exc})"
        ) from None


async def check_status(
    deployment: DeploymentEntry, response: aiohttp.ClientResponse, anthropic: bool = False
) -> None:
    if response.status < 400:
        return
    try:
        body = await response.read()
    except (aiohttp.ClientError, TimeoutError):
        body = b""
    finally:
        response.close()
    name = deployment.provider.name
    if response.status == 429 or response.status >= 500:
        raise RetryableUpstreamError(
            f"{name} answered HTTP {response.status}: {error_message(body)}",
            status=response.status,
            retry_after=(
                retry_after_seconds(response.headers.get("Retry-After"))
                if response.status == 429
                else None
            ),
        )
    if anthropic:
        status, error = from_anthropic_error(response.status, body)
        err = error["error"]
        raise UpstreamError(
            status,
            err.get("message") or "upstream error",
            type=err.get("type"),
            code=err.get("code"),
        )
    if response.status in (401, 403):
        raise UpstreamError(
            502,
            f"{name} rejected Portico's credentials (HTTP {response.status}). An administrator must fix the provider's API key.",
            code="upstream_auth_failed",
        )
    if response.status == 404:
        raise UpstreamError(
            502,
            f"{name} does not know the model or route (HTTP 404): {error_message(body)}",
            code="upstream_not_found",
        )
    parsed = error_fields(body)
    raise UpstreamError(
        response.status if response.status in (400, 413, 415, 422) else 502,
        f"{name}: {parsed.get('message') or error_message(body)}",
        type=parsed.get("type") if response.status < 500 else None,
        code=parsed.get("code"),
        param=parsed.get("param"),
    )


def error_fields(body: bytes) -> dict:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        return error
    if isinstance(error, str):
        return {"message": error}
    return {}


def error_message(body: bytes) -> str:
    message = error_fields(body).get("message")
    if message:
        return str(message)[:500]
    return body[:300].decode("utf-8", "replace").strip() or "no body"


async def read_first_event(stream: AsyncIterator[bytes], name: str) -> bytes:
    """Read until one whole SSE event arrived, so failover stays possible until then."""
    first = b""
    try:
        async for chunk in stream:
            first += chunk
            if b"\n\n" in first or b"\r\n\r\n" in first:
                return first
    except TimeoutError:
        raise RetryableUpstreamError(
            f"{name}: timed out waiting for the first token", timeout=True
        ) from None
    except aiohttp.ClientError as exc:
        raise RetryableUpstreamError(
            f"{name}: the stream broke before the first token ({type(exc).__name__})"
        ) from None
    if not first:
        raise RetryableUpstreamError(f"{name}: the stream ended before any data")
    return first


async def iterate(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    async for chunk in response.content.iter_any():
        yield chunk


# --- Chat ---------------------------------------------------------------------------------
async def open_chat(
    deployment: DeploymentEntry, body: dict, *, stream: bool, public_model: str
) -> UpstreamReply:
    kind = deployment.provider.kind
    if kind == "local":
        return await open_local_chat(deployment, body, stream=stream, public_model=public_model)
    if kind == "anthropic":
        return await open_anthropic_chat(deployment, body, stream=stream, public_model=public_model)
    payload = dict(body, model=deployment.upstream_model)
    if stream:
        # Always ask for usage: metering needs it; the chunk is removed again if the client did not ask.
        payload["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    response = await post(
        deployment, "/chat/completions", orjson.dumps(payload), openai_headers(deployment)
    )
    await check_status(deployment, response)
    if not stream:
        return UpstreamReply(body=await read_body(deployment, response))
    chunks = iterate(response)
    try:
        first = await read_first_event(chunks, deployment.provider.name)
    except RetryableUpstreamError:
        response.close()
        raise
    return UpstreamReply(stream=chunks, first=first, response=response)


async def read_body(deployment: DeploymentEntry, response: aiohttp.ClientResponse) -> bytes:
    try:
        return await response.read()
    except TimeoutError:
        raise RetryableUpstreamError(
            f"{deployment.provider.name}: timed out reading the response", timeout=True
        ) from None
    except aiohttp.ClientError as exc:
        raise RetryableUpstreamError(
            f"{deployment.provider.name}: the response broke ({type(exc).__name__})"
        ) from None
    finally:
        response.release()


async def open_anthropic_chat(
    deployment: DeploymentEntry, body: dict, *, stream: bool, public_model: str
) -> UpstreamReply:
    try:
        request = to_anthropic_request(
            body, deployment.upstream_model, default_max_tokens=ANTHROPIC_DEFAULT_MAX_TOKENS
        )
    except AdapterError as exc:
        raise UpstreamError(400, exc.message, param=exc.param, code=exc.code) from None
    request["stream"] = stream
    response = await post(
        deployment, "/messages", orjson.dumps(request), anthropic_headers(deployment)
    )
    await check_status(deployment, response, anthropic=True)
    if not stream:
        raw = await read_body(deployment, response)
        return UpstreamReply(
            body=orjson.dumps(from_anthropic_response(orjson.loads(raw), model=public_model))
        )
    translator = AnthropicStreamTranslator(model=public_model, include_usage=True)

    async def translated() -> AsyncIterator[bytes]:
        async for chunk in response.content.iter_any():
            out = translator.feed(chunk)
            if out:
                yield out
        tail = translator.finish()
        if tail:
            yield tail

    chunks = translated()
    try:
        first = await read_first_event(chunks, deployment.provider.name)
    except RetryableUpstreamError:
        response.close()
        raise
    return UpstreamReply(stream=chunks, first=first, response=response, translator=translator)


async def open_local_chat(
    deployment: DeploymentEntry, body: dict, *, stream: bool, public_model: str
) -> UpstreamReply:
    if deployment.upstream_model != "test-chat":
        raise UpstreamError(
            502, f"The local provider has no chat model {deployment.upstream_model!r}."
        )
    if not stream:
        return UpstreamReply(body=await local_provider.chat_completion(body, public_model))
    chunks = local_provider.chat_completion_stream(body, public_model)
    first = await chunks.__anext__()
    return UpstreamReply(stream=chunks, first=first)


# --- Embeddings --------------------------------------------------------------------------------
async def open_embeddings(
    deployment: DeploymentEntry, body: dict, *, public_model: str
) -> UpstreamReply:
    kind = deployment.provider.kind
    if kind == "local":
        if deployment.upstream_model == local_provider.E5_MODEL:
            return UpstreamReply(body=await local_provider.e5_embeddings(body, public_model))
        if deployment.upstream_model != "test-embedding":
            raise UpstreamError(
                502, f"The local provider has no embedding model {deployment.upstream_model!r}."
            )
        return UpstreamReply(body=local_provider.embeddings(body, public_model))
    if kind != "openai":
        raise UpstreamError(
            400, f"{public_model} is served by a provider without an embeddings API.", param="model"
        )
    # ``input_type`` is Portico's (the local e5 model's prefixes); OpenAI refuses it.
    payload = orjson.dumps(
        {**{k: v for k, v in body.items() if k != "input_type"}, "model": deployment.upstream_model}
    )
    response = await post(deployment, "/embeddings", payload, openai_headers(deployment))
    await check_status(deployment, response)
    return UpstreamReply(body=await read_body(deployment, response))
