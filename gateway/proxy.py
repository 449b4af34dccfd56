"""The /v1 request path after admission: validate, resolve, route, relay, meter.

Per request: one key-snapshot cache hit, one atomic rate-limit step, one funds
reservation (priced models), the upstream call on the shared pooled session, and
one durable usage event. Stream bytes are relayed as they arrive; only the usage
chunk is decoded (and a chunk naming a model the stream has not named before).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import orjson
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from catalog.snapshots import DeploymentEntry, ModelEntry, get_catalog
from gateway import routing
from gateway.adapters import StreamModelRewriter
from gateway.admission import check_model_access, with_headers
from gateway.call import Call
from gateway.metering import record, record_in_background, usage_event
from gateway.metrics import observe_upstream_error
from gateway.upstream import RetryableUpstreamError, UpstreamError, UpstreamReply
from ground.errors import ApiError
from usage.events import UsageEvent

log = logging.getLogger(__name__)


def parse_json_body(request: HttpRequest) -> dict:
    content_type = request.content_type or ""
    if content_type.startswith("multipart/"):
        raise ApiError(415, f"Unsupported Content-Type {content_type!r}; send application/json.")
    try:
        body = orjson.loads(request.body or b"")
    except orjson.JSONDecodeError as exc:
        if content_type and "json" not in content_type and content_type != "text/plain":
            raise ApiError(
                415, f"Unsupported Content-Type {content_type!r}; send application/json."
            ) from None
        raise ApiError(
            400, f"We could not parse the JSON body of your request ({exc}).", code="invalid_json"
        ) from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    return body


def require_model(body: dict) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ApiError(
            400,
            "You must provide a model parameter.",
            param="model",
            code="missing_required_parameter",
        )
    return model.strip()


async def resolve_model(call: Call, requested: str, model_type: str) -> tuple[ModelEntry, tuple]:
    call.requested_model = requested
    catalog = await get_catalog()
    resolved = catalog.resolve(requested)
    if resolved is None or not resolved[1]:
        raise ApiError(
            404,
            f"The model '{requested}' does not exist or is not available.",
            code="model_not_found",
            param="model",
        )
    model, deployments = resolved
    check_model_access(call.ctx, model.public_id)
    if model.type != model_type:
        raise ApiError(
            400,
            f"The model '{model.public_id}' is a {model.type} model and cannot serve {call.endpoint}.",
            param="model",
            code="model_not_supported",
        )
    call.model = model
    return model, deployments


async def route(
    call: Call,
    deployments: tuple[DeploymentEntry, ...],
    opener: Callable[[DeploymentEntry], Awaitable[UpstreamReply]],
) -> UpstreamReply:
    order = routing.attempt_order(deployments)
    if not order:
        retry_after = routing.seconds_until_healthy(deployments)
        raise ApiError(
            503,
            f"No healthy provider is available for '{call.requested_model}' right now "
            f"(every one is cooling down after repeated failures). Retry after {retry_after} s.",
            headers={"retry-after": str(retry_after)},
        )
    failures: list[RetryableUpstreamError] = []
    call.upstream_started = time.perf_counter()
    for deployment in order:
        call.deployment = deployment
        try:
            reply = await opener(deployment)
        except RetryableUpstreamError as exc:
            routing.record_failure(deployment.id)
            failures.append(exc)
            call.fallbacks += 1
            observe_upstream_error(call, deployment, exc, failover=deployment is not order[-1])
            continue
        except UpstreamError as exc:
            observe_upstream_error(call, deployment, exc, failover=False)
            raise ApiError(
                exc.status, exc.message, type=exc.type, code=exc.code, param=exc.param
            ) from None
        routing.record_success(deployment.id)
        call.fallbacks = len(failures)
        return reply
    call.fallbacks = max(len(failures) - 1, 0)
    reasons = "; ".join(exc.reason for exc in failures)
    if all(exc.status == 429 for exc in failures):
        raise rate_limited(call, failures, reasons)
    raise ApiError(502, "Every provider for this model failed: " + reasons, code="upstream_failed")


def rate_limited(call: Call, failures: list[RetryableUpstreamError], reasons: str) -> ApiError:
    """Every deployment tried answered 429: a 429 the SDKs back off from (a 502 would fail
    them), with the soonest ``Retry-After`` a provider gave, or one second."""
    waits = [exc.retry_after for exc in failures if exc.retry_after is not None]
    retry_after = min(waits) if waits else 1
    return ApiError(
        429,
        f"'{call.requested_model}' is rate-limited by its providers right now ({reasons}). "
        f"Retry after {retry_after} s.",
        type="rate_limit_error",
        code="upstream_rate_limited",
        headers={"retry-after": str(retry_after)},
    )


def overhead_ms(call: Call) -> str:
    total = (time.perf_counter() - call.started) * 1000
    return f"{max(total - call.upstream_ms, 0):.2f}"


# --- Non-streamed replies ---------------------------------------------------------------------
def usage_from(payload: dict) -> tuple[int, int, int] | None:
    usage = payload.get("usage")
    if not isinstance(usage, dict):
        return None
    prompt = int(usage.get("prompt_tokens") or usage.get("input_tokens") or 0)
    completion = int(usage.get("completion_tokens") or usage.get("output_tokens") or 0)
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
    return prompt, completion, cached


async def finish_plain(
    call: Call,
    reply: UpstreamReply,
    estimate_completion: Callable[[dict], int],
    shape: Callable[[dict], dict] | None = None,
) -> HttpResponse:
    call.upstream_ms = (time.perf_counter() - call.upstream_started) * 1000
    try:
        payload = orjson.loads(reply.body)
    except orjson.JSONDecodeError:
        raise ApiError(
            502, f"{call.deployment.provider.name} sent a response that is not JSON."
        ) from None
    counts = usage_from(payload)
    reported = counts is not None
    if counts is None:
        counts = (call.est_prompt, estimate_completion(payload), 0)
        payload["usage"] = {
            "prompt_tokens": counts[0],
            "completion_tokens": counts[1],
            "total_tokens": counts[0] + counts[1],
        }
    if "model" in payload:
        payload["model"] = call.model.public_id
    event = usage_event(
        call,
        status="ok",
        http_status=200,
        prompt=counts[0],
        completion=counts[1],
        cached=counts[2],
        reported=reported,
    )
    await record(call, event)
    body = orjson.dumps(shape(payload) if shape else payload)
    response = HttpResponse(body, content_type="application/json")
    call.headers["x-portico-overhead-ms"] = overhead_ms(call)
    return with_headers(response, call)


# --- Streams ----------------------------------------------------------------------------------
@dataclass
class StreamState:
    usage: tuple[int, int, int] | None = None
    content_chunks: int = 0
    ttft_ms: int | None = None
    done: bool = False
    error: str = ""


def split_events(buffer: bytes, rewrite=None) -> tuple[list[bytes], bytes]:
    """Complete SSE events and the incomplete rest; ``rewrite`` (bytes -> bytes) is
    applied once to all the complete events together, not event by event."""
    if b"\r" in buffer:
        buffer = buffer.replace(b"\r\n", b"\n")
    parts = buffer.split(b"\n\n")
    if rewrite is None or len(parts) == 1:
        return parts[:-1], parts[-1]
    rest = parts[-1]
    complete = buffer[: len(buffer) - len(rest) - 2]
    return rewrite(complete).split(b"\n\n"), rest


def inspect_event(call: Call, state: StreamState, event: bytes) -> bytes | None:
    """Note usage and first tokens; return the bytes to forward (None to drop)."""
    if event.startswith(b"data: [DONE]") or event.startswith(b"data:[DONE]"):
        state.done = True
        return event + b"\n\n"
    if b'"usage":{' in event or b'"usage": {' in event:
        data = event[event.index(b"{") :] if b"{" in event else b"{}"
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            payload = {}
        counts = usage_from(payload) if isinstance(payload, dict) else None
        if counts is not None:
            state.usage = counts
        if not call.include_usage and not (isinstance(payload, dict) and payload.get("choices")):
            return None
    if (b'"content":"' in event and b'"content":""' not in event) or b'"tool_calls"' in event:
        state.content_chunks += 1
        if state.ttft_ms is None:
            state.ttft_ms = call.elapsed_ms()
    elif b'"error"' in event and event.startswith(b"data:"):
        state.error = "upstream_stream_error"
    return event + b"\n\n"


def stream_event(call: Call, state: StreamState, status: str) -> UsageEvent:
    if state.usage is not None:
        prompt, completion, cached = state.usage
        reported = True
    else:
        prompt, completion, cached, reported = call.est_prompt, state.content_chunks, 0, False
    http_status = 200 if status != "error" else 502
    # The tokens of a broken stream were produced and relayed: they are charged too.
    return usage_event(
        call,
        status=status,
        http_status=http_status,
        prompt=prompt,
        completion=completion,
        cached=cached,
        reported=reported,
        ttft_ms=state.ttft_ms,
        error_code=state.error,
        charge=True,
    )


async def relay(call: Call, reply: UpstreamReply, translator=None) -> AsyncIterator[bytes]:
    """Relay an OpenAI-format SSE stream; ``translator`` (feed/finish/fail) re-shapes it,
    e.g. into the Responses event stream."""
    state = StreamState()
    buffer = b""
    recorded = False
    status = "cancelled"
    # Chunks name the upstream's model; clients see the public id, as in plain answers.
    # A translator builds its own events with the public id.
    rewrite = (
        StreamModelRewriter(call.model.public_id, call.deployment.upstream_model).rewrite_block
        if translator is None
        else None
    )
    try:
        data = reply.first
        while True:
            events, buffer = split_events(buffer + data, rewrite)
            out = []
            for event in events:
                forwarded = inspect_event(call, state, event)
                if forwarded is None:
                    continue
                if state.done:
                    # Durable before the client sees the end of the stream.
                    await record(call, stream_event(call, state, "ok"))
                    recorded = True
                out.append(forwarded)
            if out:
                chunk = b"".join(out)
                yield translator.feed(chunk) if translator else chunk
            if state.done:
                break
            try:
                data = await reply.stream.__anext__()
            except StopAsyncIteration:
                break
        if not state.done:
            state.error = state.error or "stream_ended_early"
            status = "error"
            message = f"{call.deployment.provider.name} ended the stream before it was complete."
            yield error_chunk(message, translator)
        else:
            status = "ok"
            tail = translator.finish() if translator else b""
            if tail:
                yield tail
    except (aiohttp.ClientError, TimeoutError) as exc:
        status = "error"
        state.error = "upstream_stream_broken"
        yield error_chunk(f"The upstream stream broke: {type(exc).__name__}.", translator)
    finally:
        reply.close()
        if not recorded:
            event = stream_event(call, state, status)
            if status == "cancelled":
                record_in_background(call, event)
            else:
                await record(call, event)


def error_chunk(message: str, translator=None) -> bytes:
    if translator is not None:
        # The Responses API's error codes are a closed set: a broken upstream is server_error.
        return translator.fail(message, "server_error")
    error = {
        "message": message,
        "type": "upstream_error",
        "code": "upstream_stream_broken",
        "param": None,
    }
    return b"data: " + orjson.dumps({"error": error}) + b"\n\n"


def streaming_response(call: Call, chunks: AsyncIterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    call.headers["x-portico-overhead-ms"] = f"{(call.upstream_started - call.started) * 1000:.2f}"
    return with_headers(response, call)


def json_response(payload: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(orjson.dumps(payload), status=status, content_type="application/json")
