"""Passages and queries embedded through the gateway's own embedding path, metered.

``GatewayEmbedder(model)`` calls the deployments of a catalog embedding model exactly as
``POST /v1/embeddings`` does: ``gateway.proxy.route`` (priority, weights, cool-downs,
fail-over to the next deployment) over ``gateway.upstream.open_embeddings`` (OpenAI-
compatible upstreams, the built-in local provider). Retrieval sits above the gateway in
the apps' import order (``tests/architecture``), so it imports that path directly: no
registration from a higher layer is needed.

Each call is one usage event with ``source="alretrieval"`` (endpoint
``alretrieval.embed``), priced with the model's input price like ``/v1/embeddings``, charged
to the payer; a failed call is an ``error`` event that costs nothing. Failures raise
``EmbeddingUnavailable``: callers fall back to lexical ranking and say so.

Inputs go out in batches of ``BATCH_TEXTS`` with ``encoding_format: "base64"`` (float32
on the wire); an upstream that ignores it and sends floats is read as well.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import orjson

from billing.pricing import price, worst_case_cost
from catalog.snapshots import DeploymentEntry, ModelEntry, get_catalog, get_catalog_sync
from gateway import proxy, upstream
from gateway.admission import Call
from ground.errors import ApiError
from ground.tokens import estimate_input_tokens, worst_case_input_tokens
from usage.events import UsageEvent, emit, emit_sync

log = logging.getLogger(__name__)

BATCH_TEXTS = 64
MAX_TEXT_CHARS = 8_000  # ~2k tokens: inside every embedding model's context
ENDPOINT = "alretrieval.embed"


class EmbeddingUnavailable(Exception):
    """The embedding model could not embed the texts (why is in ``reason``)."""

    def __init__(self, reason: str, event: UsageEvent | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event = event  # the failed call's usage record (free), once a call was made


@dataclass(frozen=True)
class Payer:
    """Whom an embedding call is charged to, and under which request id."""

    user_id: int
    api_key_id: int | None = None
    request_id: str = ""

    def with_request_id(self) -> Payer:
        if self.request_id:
            return self
        return Payer(self.user_id, self.api_key_id, f"rtv_emb_{uuid.uuid4().hex}")


@dataclass
class Embedded:
    vectors: list[np.ndarray]
    event: UsageEvent


def resolve(catalog, model: str) -> tuple[ModelEntry, tuple[DeploymentEntry, ...]]:
    resolved = catalog.resolve(model)
    if resolved is None or not resolved[1]:
        raise EmbeddingUnavailable(f"the embedding model {model!r} is not in the catalog")
    entry, deployments = resolved
    if entry.type != "embedding":
        raise EmbeddingUnavailable(f"{model!r} is a {entry.type} model, not an embedding model")
    return entry, deployments


def decode(payload: dict, count: int) -> list[np.ndarray]:
    """The vectors of an OpenAI embeddings answer, in input order."""
    data = payload.get("data")
    if not isinstance(data, list) or len(data) != count:
        raise EmbeddingUnavailable(f"the upstream sent {len(data or [])} vectors for {count} texts")
    out: list[np.ndarray | None] = [None] * count
    for position, item in enumerate(data):
        index = item.get("index", position) if isinstance(item, dict) else None
        raw = item.get("embedding") if isinstance(item, dict) else None
        if not isinstance(index, int) or not 0 <= index < count:
            raise EmbeddingUnavailable("the upstream's answer has a bad index")
        try:
            if isinstance(raw, str):
                vector = np.frombuffer(base64.b64decode(raw), dtype="<f4").astype(np.float32)
            else:
                vector = np.asarray(raw, dtype=np.float32)
        except (binascii.Error, ValueError, TypeError):
            raise EmbeddingUnavailable("the upstream sent an unreadable vector") from None
        if vector.ndim != 1 or not vector.size or not np.isfinite(vector).all():
            raise EmbeddingUnavailable("the upstream sent an unusable vector")
        out[index] = vector
    if any(v is None for v in out) or len({v.size for v in out}) != 1:
        raise EmbeddingUnavailable("the upstream's vectors are missing or of mixed sizes")
    return out  # type: ignore[return-value]


async def worst_case(model: str, texts: list[str]) -> Decimal:
    """What a hold must cover to embed ``texts`` with ``model`` (0 when it is unknown)."""
    entry = (await get_catalog()).models.get(model)
    return worst_case_cost(entry, worst_case_input_tokens(texts), 0) if entry else Decimal(0)


class GatewayEmbedder:
    """``embed`` (synchronous: the Celery task, flows) and ``aembed`` (the API's event loop)."""

    def __init__(self, model: str) -> None:
        self.model = model

    # --- async: the server's loop and its pooled upstream session --------------------
    async def aembed(self, texts: list[str], payer: Payer) -> list[np.ndarray]:
        entry, deployments = resolve(await get_catalog(), self.model)
        try:
            embedded = await self._run(entry, deployments, texts, payer.with_request_id())
        except EmbeddingUnavailable as exc:
            if exc.event is not None:
                await emit(exc.event)
            raise
        await emit(embedded.event)
        return embedded.vectors

    # --- sync: a worker (or a flow called outside the server) ----------------------------
    def embed(self, texts: list[str], payer: Payer) -> list[np.ndarray]:
        entry, deployments = resolve(get_catalog_sync(), self.model)
        payer = payer.with_request_id()

        async def run() -> Embedded:
            try:
                return await self._run(entry, deployments, texts, payer)
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
        except EmbeddingUnavailable as exc:
            if exc.event is not None:
                emit_sync(exc.event)
            raise
        emit_sync(embedded.event)
        return embedded.vectors

    # --- the calls ------------------------------------------------------------------------
    async def _run(
        self,
        entry: ModelEntry,
        deployments: tuple[DeploymentEntry, ...],
        texts: list[str],
        payer: Payer,
    ) -> Embedded:
        call = Call(endpoint=ENDPOINT, source="alretrieval", request_id=payer.request_id)
        call.requested_model = self.model
        call.model = entry
        texts = [t[:MAX_TEXT_CHARS] or " " for t in texts]
        vectors: list[np.ndarray] = []
        tokens = 0
        try:
            for start in range(0, len(texts), BATCH_TEXTS):
                batch = texts[start : start + BATCH_TEXTS]
                body = {"model": entry.public_id, "input": batch, "encoding_format": "base64"}
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
                    raise EmbeddingUnavailable("the upstream's answer is not JSON") from None
                if not isinstance(payload, dict):
                    raise EmbeddingUnavailable("the upstream's answer is not an object")
                vectors.extend(decode(payload, len(batch)))
                usage = proxy.usage_from(payload)
                tokens += usage[0] if usage and usage[0] else estimate_input_tokens(batch)
        except ApiError as exc:
            failed = self._event(call, payer, ok=False, error=exc.code or "upstream_failed")
            raise EmbeddingUnavailable(f"{exc.status} {exc.message}", failed) from None
        except EmbeddingUnavailable as exc:
            failed = self._event(call, payer, ok=False, error="bad_upstream_answer")
            raise EmbeddingUnavailable(exc.reason, failed) from None
        if len({v.size for v in vectors}) > 1:
            failed = self._event(call, payer, ok=False, error="bad_upstream_answer")
            raise EmbeddingUnavailable("the upstream's vectors are of mixed sizes", failed)
        return Embedded(vectors, self._event(call, payer, ok=True, tokens=tokens))

    def _event(
        self, call: Call, payer: Payer, *, ok: bool, tokens: int = 0, error: str = ""
    ) -> UsageEvent:
        """Charged like ``/v1/embeddings``: input tokens at the model's price; a failure is free."""
        deployment = call.deployment
        return UsageEvent(
            request_id=payer.request_id,
            user_id=payer.user_id,
            api_key_id=payer.api_key_id,
            model=self.model,
            provider=deployment.provider.name if deployment else "",
            deployment_id=deployment.id if deployment else None,
            upstream_model=deployment.upstream_model if deployment else "",
            source="alretrieval",
            endpoint=ENDPOINT,
            prompt_tokens=tokens,
            cost_usd=price(call.model, tokens, 0) if ok and call.model else Decimal(0),
            status="ok" if ok else "error",
            http_status=200 if ok else 502,
            error_code=error,
            latency_ms=call.elapsed_ms(),
            fallbacks=call.fallbacks,
            created_at=call.started_wall,
        )
