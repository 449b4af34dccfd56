"""What the /v1 engine tells ``/metrics``: one call per answer, one per failed upstream call.

Labels name the resolved catalog model (empty before a model is resolved: a typo in a
request must not become a new series) and the deployment's provider.
"""

from __future__ import annotations

import time

from catalog.snapshots import DeploymentEntry
from gateway.call import Call
from gateway.upstream import RetryableUpstreamError, UpstreamError
from ground import metrics
from ground.errors import ApiError


def labels(call: Call) -> tuple[str, str]:
    model = call.model.public_id if call.model is not None else ""
    provider = call.deployment.provider.name if call.deployment is not None else ""
    return model, provider


def observe_answer(call: Call, status: int, overhead_us: int | None, ttft_ms: int | None) -> None:
    """A request answered (or abandoned by its client) after admission."""
    model, provider = labels(call)
    seconds = time.perf_counter() - call.started
    metrics.observe_request(call.endpoint, model, provider, status, seconds, overhead_us, ttft_ms)


def observe_refusal(call: Call, error: ApiError) -> None:
    """An ``ApiError`` answer: counted like any answer, and 402s / 429s by their code."""
    model, provider = labels(call)
    seconds = time.perf_counter() - call.started
    overhead = call.overhead_us()
    metrics.observe_request(call.endpoint, model, provider, error.status, seconds, overhead)
    metrics.observe_refusal(call.endpoint, error.status, error.code)


def upstream_reason(exc: RetryableUpstreamError | UpstreamError) -> str:
    if isinstance(exc, UpstreamError):
        return "rejected"
    if exc.timeout:
        return "timeout"
    if exc.status == 429:
        return "rate_limited"
    if exc.status >= 500:
        return "server_error"
    return "connection"


def observe_upstream_error(
    call: Call,
    deployment: DeploymentEntry,
    exc: RetryableUpstreamError | UpstreamError,
    *,
    failover: bool,
) -> None:
    model = call.model.public_id if call.model is not None else ""
    metrics.observe_upstream_error(
        deployment.provider.name, model, upstream_reason(exc), failover=failover
    )
