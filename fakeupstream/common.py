"""What every generation route shares: admission, fault injection, delays, token streaming."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from fakeupstream.asgi import Conn, DropConnection, Headers, Scope
from fakeupstream.state import ConfigError, Failure, State, coerce_knobs

# --- error dialects ------------------------------------------------------------------------

_OPENAI_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_denied", None),
    404: ("invalid_request_error", "model_not_found"),
    409: ("invalid_request_error", None),
    413: ("invalid_request_error", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}
_ANTHROPIC_KINDS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


class Dialect:
    """How a provider shapes its error bodies."""

    name = "openai"

    def error(self, status: int, message: str) -> dict[str, Any]:
        kind, code = _OPENAI_KINDS.get(status, ("server_error", None))
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class AnthropicDialect(Dialect):
    name = "anthropic"

    def error(self, status: int, message: str) -> dict[str, Any]:
        kind = _ANTHROPIC_KINDS.get(
            status, "api_error" if status >= 500 else "invalid_request_error"
        )
        return {"type": "error", "error": {"type": kind, "message": message}}


OPENAI = Dialect()
ANTHROPIC = AnthropicDialect()


# --- per-request context -------------------------------------------------------------------


@dataclass(slots=True)
class Ctx:
    """An admitted generation request."""

    state: State
    conn: Conn
    dialect: Dialect
    payload: dict[str, Any]
    model: str | None
    knobs: dict[str, Any]
    header_failure: Failure | None

    async def error(self, status: int, message: str, headers: Headers | None = None) -> None:
        await self.conn.json(status, self.dialect.error(status, message), headers)

    def next_id(self) -> int:
        return self.state.next_id()


def header_overrides(headers: Headers) -> dict[str, Any]:
    """``x-fake-latency-ms: 50`` → ``{"latency_ms": 50.0}`` (any knob, dashes for underscores)."""
    raw: dict[str, Any] = {}
    for name, value in headers:
        if name.startswith(b"x-fake-"):
            raw[name[7:].decode("latin-1").lower().replace("-", "_")] = value.decode("latin-1")
    return coerce_knobs(raw, allow_global=False) if raw else {}


def _authorized(headers: Headers, api_key: str, dialect: Dialect) -> bool:
    bearer = b"Bearer " + api_key.encode()
    for name, value in headers:
        if name == b"authorization" and value == bearer:
            return True
        if dialect is ANTHROPIC and name == b"x-api-key" and value == api_key.encode():
            return True
    return False


async def admit(
    state: State, scope: Scope, conn: Conn, body: bytes, dialect: Dialect
) -> Ctx | None:
    """Record, tally, parse and authorise a request; answers it itself (and returns None)
    when it is malformed, unauthorised or for an unknown model in strict mode."""
    state.record(scope, body)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        payload = None
    if not isinstance(payload, dict):
        state.tally.request(None)
        await conn.json(400, dialect.error(400, "request body must be a JSON object"))
        return None
    model = payload.get("model") if isinstance(payload.get("model"), str) else None
    state.tally.request(model)
    try:
        overrides = header_overrides(scope["headers"])
    except ConfigError as exc:
        await conn.json(400, dialect.error(400, f"bad x-fake-* header: {exc}"))
        return None
    config = state.config
    knobs = config.resolve(model)
    if overrides:
        knobs = {**knobs, **overrides}
    ctx = Ctx(state, conn, dialect, payload, model, knobs, _header_failure(overrides, knobs))
    if knobs["api_key"] is not None and not _authorized(
        scope["headers"], knobs["api_key"], dialect
    ):
        await ctx.error(401, "Incorrect API key provided")
        return None
    if model is None:
        await ctx.error(400, "model is required")
        return None
    if config.strict_models and model not in config.models:
        await ctx.error(404, f"The model `{model}` does not exist or you do not have access to it.")
        return None
    return ctx


def _header_failure(overrides: dict[str, Any], knobs: dict[str, Any]) -> Failure | None:
    status = overrides.get("fail_status")
    if status is None:
        return None
    return Failure(status, knobs["fail_body"], knobs["fail_headers"] or {})


async def gate(ctx: Ctx, extra_delay_ms: float = 0.0) -> bool:
    """Apply injected failure, hang and latency. True when the handler should answer.

    The failure counter is consumed on arrival so concurrent requests fail in arrival order;
    the error itself is sent after the hang/latency delays, like a slow failing upstream.
    """
    failure = ctx.header_failure or ctx.state.config.take_failure(ctx.model)
    knobs, conn = ctx.knobs, ctx.conn
    if knobs["hang"]:
        await conn.wait_disconnect()
        ctx.state.tally.cancelled += 1
        return False
    delay_ms = knobs["hang_ms"] + knobs["latency_ms"] + (0.0 if failure else extra_delay_ms)
    if delay_ms > 0 and not await conn.sleep(delay_ms / 1000):
        ctx.state.tally.cancelled += 1
        return False
    if failure is not None:
        ctx.state.tally.failed += 1
        await _send_failure(ctx, failure)
        return False
    return True


async def _send_failure(ctx: Ctx, failure: Failure) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in failure.headers.items()]
    if failure.body is None:
        await ctx.error(failure.status, "Injected failure (fakeupstream)", headers)
    elif isinstance(failure.body, str):
        content_type = [(b"content-type", b"text/plain; charset=utf-8")]
        await ctx.conn.respond(failure.status, failure.body.encode(), content_type + headers)
    else:
        await ctx.conn.json(failure.status, failure.body, headers)


async def stream_tokens(
    ctx: Ctx, head: bytes, tokens: list[str], render: Callable[[str], bytes]
) -> int | None:
    """Write ``head`` (the stream's opening events) then one rendered event per token,
    honouring ``token_interval_ms`` (between tokens) and ``drop_stream_after``.

    Returns how many tokens were sent, or None if the client left. Every token written
    before a disconnect was noticed is tallied as a completion token. Without an interval
    all events go out in one write: nothing could be noticed in between anyway.
    """
    interval = ctx.knobs["token_interval_ms"] / 1000
    drop = ctx.knobs["drop_stream_after"]
    limit = len(tokens) if drop is None else min(drop, len(tokens))
    conn, sent = ctx.conn, 0
    try:
        if not interval:
            await conn.write(head + b"".join(map(render, tokens[:limit])))
            sent = limit
        else:
            pending = head
            for tok in tokens[:limit]:
                if sent and not await conn.sleep(interval):
                    ctx.state.tally.cancelled += 1
                    return None
                await conn.write(pending + render(tok))
                pending, sent = b"", sent + 1
            if pending:
                await conn.write(pending)
        if sent == drop:
            _drop(ctx)
        return sent
    finally:
        ctx.state.tally.completion(ctx.model, sent)


def _drop(ctx: Ctx) -> None:
    ctx.state.tally.dropped += 1
    raise DropConnection


def token_template(render_event: Callable[[Any], bytes]) -> Callable[[str], bytes]:
    """Pre-render an event whose only varying part is the token text; splice tokens in.

    ``render_event(marker)`` must embed ``marker`` (a JSON string) exactly once.
    """
    marker = "\x00fakeupstream-token\x00"
    head, tail = render_event(marker).split(orjson.dumps(marker))
    return lambda tok: head + orjson.dumps(tok) + tail
