"""Embedding texts as a given caller: the gateway's one public way for another app
(retrieval, and later anything else) to use an embedding model.

``embed(caller, model, texts)`` (synchronous: workers, flows) and ``aembed`` (a server's
event loop) call the deployments of a catalog embedding model exactly as
``POST /v1/embeddings`` does: ``proxy.route`` (priority, weights, cool-downs, fail-over
to the next deployment) over ``upstream.open_embeddings`` (OpenAI-compatible upstreams,
the built-in local provider). Each call is one usage event under the caller's request
id, ``source`` and ``endpoint``, priced with the model's input price like
``/v1/embeddings`` and charged to ``caller.user_id`` (and its key); a failed call is an
``error`` event that costs nothing. Failures raise ``EmbeddingFailed``. An embedding made
as part of a running request (``caller.part_of``: a search's query) is charged from that
request's reservation, as its other parts are (``gateway.metering.record_part``).

Admission stays with the caller: it must have admitted ``model`` for the payer (an API
request: ``gateway.admission.admit_model``; a worker: the payer's context) before it
calls; this function meters, it does not decide who may spend.

Inputs go out in batches of ``BATCH_TEXTS`` with ``encoding_format: "base64"`` (float32
on the wire); an upstream that ignores it and sends floats is read as well. ``input_type``
(``"query"`` or ``"passage"``) tells a model that embeds the two differently (the local
multilingual-e5-small) what the texts are for; OpenAI-compatible upstreams never see it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np
import orjson

from billing.pricing import price, worst_case_cost
from catalog.snapshots import DeploymentEntry, ModelEntry, get_catalog, get_catalog_sync
from gateway import proxy, upstream
from gateway.call import Call
from gateway.metering import record_part
from ground.errors import ApiError
from ground.tokens import estimate_input_tokens, worst_case_input_tokens
from usage.events import UsageEvent, emit, emit_sync

BATCH_TEXTS = 64
MAX_TEXT_CHARS = 8_000  # ~2k tokens: inside every embedding model's context


class EmbeddingFailed(Exception):
    """The embedding model could not embed the texts (why is in ``reason``)."""

    def __init__(self, reason: str, event: UsageEvent | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event = event  # the failed call's usage record (free), once a call was made


@dataclass(frozen=True)
class Caller:
    """Whom an embedding call is charged to, under which request id, and which part of
    Portico made it (the usage event's ``source`` and ``endpoint``)."""

    user_id: int
    api_key_id: int | None = None
    request_id: str = ""
    source: str = "api"
    endpoint: str = "embeddings"
    # A request this embedding is part of (a search's query embedding): the event is
    # charged from that request's reservation (``gateway.metering.record_part``).
    part_of: Call | None = None

    def with_request_id(self) -> Caller:
        if self.request_id:
            return self
        return replace(self, request_id=f"{self.source}_emb_{uuid.uuid4().hex}")


@dataclass
class Embedded:
    vectors: list[np.ndarray]
    event: UsageEvent


def resolve(catalog, model: str) -> tuple[ModelEntry, tuple[DeploymentEntry, ...]]:
    resolved = catalog.resolve(model)
    if resolved is None or not resolved[1]:
        raise EmbeddingFailed(f"the embedding model {model!r} is not in the catalog")
    entry, deployments = resolved
    if entry.type != "embedding":
        raise EmbeddingFailed(f"{model!r} is a {entry.type} model, not an embedding model")
    return entry, deployments


def decode(payload: dict, count: int) -> list[np.ndarray]:
    """The vectors of an OpenAI embeddings answer, in input order."""
    data = payload.get("data")
    if not isinstance(data, list) or len(data) != count:
        raise EmbeddingFailed(f"the upstream sent {len(data or [])} vectors for {count} texts")
    out: list[np.ndarray | None] = [None] * count
    for position, item in enumerate(data):
        index = item.get("index", position) if isinstance(item, dict) else None
        raw = item.get("embedding") if isinstance(item, dict) else None
        if not isinstance(index, int) or not 0 <= index < count:
            raise EmbeddingFailed("the upstream's answer has a bad index")
        try:
            if isinstance(raw, str):
                vector = np.frombuffer(base64.b64decode(raw), dtype="<f4").astype(np.float32)
            else:
                vector = np.asarray(raw, dtype=np.float32)
        except (binascii.Error, ValueError, TypeError):
            raise EmbeddingFailed("the upstream sent an unreadable vector") from None
        if vector.ndim != 1 or not vector.size or not np.isfinite(vector).all():
            raise EmbeddingFailed("the upstream sent an unusable vector")
        out[index] = vector
    if any(v is None for v in out) or len({v.size for v in out}) != 1:
        raise EmbeddingFailed("the upstream's vectors are missing or of mixed sizes")
    return out  # type: ignore[return-value]


async def worst_case(model: str, texts: list[str]) -> Decimal:
    """What a hold must cover to embed ``texts`` with ``model`` (0 when it is unknown)."""
    entry = (await get_catalog()).models.get(model)
    return worst_case_cost(entry, worst_case_input_tokens(texts), 0) if entry else Decimal(0)


async def aembed(
    caller: Caller, model: str, texts: list[str], input_type: str | None = None
) -> list[np.ndarray]:
    """Embed ``texts`` with ``model`` on the running loop and its pooled upstream session;
    the usage event (ok or error) is emitted before this returns or raises."""
    entry, deployments = resolve(await get_catalog(), model)
    try:
        embedded = await _run(
            model, entry, deployments, texts, caller.with_request_id(), input_type
        )
    except EmbeddingFailed as exc:
        if exc.event is not None:
            await _record(caller, exc.event)
        raise
    await _record(caller, embedded.event)
    return embedded.vectors


async def _record(caller: Caller, event: UsageEvent) -> None:
    if caller.part_of is not None:
        await record_part(caller.part_of, event)
    else:
        await emit(event)


def embed(
    caller: Caller, model: str, texts: list[str], input_type: str | None = None
) -> list[np.ndarray]:
    """``aembed`` for synchronous code (a worker, a flow called outside the server)."""
    entry, deployments = resolve(get_catalog_sync(), model)
    caller = caller.with_request_id()

    async def run() -> Embedded:
        try:
            return await _run(model, entry, deployments, texts, caller, input_type)
        finally:
            # This loop is ours alone: close the session opened on it.
            await upstream.session().close()

    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            embedded = asyncio.run(run())
        else:  # called from a thread that runs a loop: run ours in another thread
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                embedded = pool.submit(asyncio.run, run()).result()
    except EmbeddingFailed as exc:
        if exc.event is not None:
            emit_sync(exc.event)
        raise
    emit_sync(embedded.event)
    return embedded.vectors


async def _run(
    model: str,
    entry: ModelEntry,
    deployments: tuple[DeploymentEntry, ...],
    texts: list[str],
    caller: Caller,
    input_type: str | None = None,
) -> Embedded:
    call = Call(endpoint=caller.endpoint, source=caller.source, request_id=caller.request_id)
    call.requested_model = model
    call.model = entry
    texts = [t[:MAX_TEXT_CHARS] or " " for t in texts]
    vectors: list[np.ndarray] = []
    tokens = 0
    try:
        for start in range(0, len(texts), BATCH_TEXTS):
            batch = texts[start : start + BATCH_TEXTS]
            body = {"model": entry.public_id, "input": batch, "encoding_format": "base64"}
            if input_type:
                body["input_type"] = input_type
            reply = await proxy.route(
                call,
                deployments,
                lambda d, body=body: upstream.open_embeddings(
                    d, body, public_model=entry.public_id
                ),
            )
            try:
                payload = orjson.loads(reply.body or b"")
            except orjson.JSONDecodeError:
                raise EmbeddingFailed("the upstream's answer is not JSON") from None
            if not isinstance(payload, dict):
                raise EmbeddingFailed("the upstream's answer is not an object")
            vectors.extend(decode(payload, len(batch)))
            usage = proxy.usage_from(payload)
            tokens += usage[0] if usage and usage[0] else estimate_input_tokens(batch)
    except ApiError as exc:
        failed = _event(model, call, caller, ok=False, error=exc.code or "upstream_failed")
        raise EmbeddingFailed(f"{exc.status} {exc.message}", failed) from None
    except EmbeddingFailed as exc:
        failed = _event(model, call, caller, ok=False, error="bad_upstream_answer")
        raise EmbeddingFailed(exc.reason, failed) from None
    if len({v.size for v in vectors}) > 1:
        failed = _event(model, call, caller, ok=False, error="bad_upstream_answer")
        raise EmbeddingFailed("the upstream's vectors are of mixed sizes", failed)
    return Embedded(vectors, _event(model, call, caller, ok=True, tokens=tokens))


def _event(
    model: str, call: Call, caller: Caller, *, ok: bool, tokens: int = 0, error: str = ""
) -> UsageEvent:
    """Charged like ``/v1/embeddings``: input tokens at the model's price; a failure is free."""
    deployment = call.deployment
    return UsageEvent(
        request_id=caller.request_id,
        user_id=caller.user_id,
        api_key_id=caller.api_key_id,
        model=model,
        provider=deployment.provider.name if deployment else "",
        deployment_id=deployment.id if deployment else None,
        upstream_model=deployment.upstream_model if deployment else "",
        source=caller.source,
        endpoint=caller.endpoint,
        prompt_tokens=tokens,
        cost_usd=price(call.model, tokens, 0) if ok and call.model else Decimal(0),
        status="ok" if ok else "error",
        http_status=200 if ok else 502,
        error_code=error,
        latency_ms=call.elapsed_ms(),
        fallbacks=call.fallbacks,
        created_at=call.started_wall,
    )
