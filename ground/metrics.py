"""Portico's Prometheus metrics: the metric objects, and cheap ways to move them.

The objects live here, at the bottom of the import order, so every app can count
(``usage.drain`` as well as the gateway); ``portal.metrics`` serves them at ``/metrics``.

Several processes (uvicorn workers, Celery workers) share the numbers through
``prometheus_client``'s multiprocess mode: each process writes its values to memory-
mapped files in ``PROMETHEUS_MULTIPROC_DIR`` and a scrape adds them up. Settings sets
that variable before anything imports ``prometheus_client`` (the library picks its mode
on import). ``METRICS_ENABLED=0`` turns every helper below into an early return.

Label values come from the catalog and from Portico's own code (endpoint names, model
ids, provider names, HTTP statuses, error codes), never from what a client typed, so
the number of series stays bounded. A request's children (``.labels(...)``) are looked
up once per label combination and kept in a dict: on the hot path an observation is a
dict hit and a few writes to shared memory.
"""

from __future__ import annotations

import re

from prometheus_client import Counter, Gauge, Histogram

from ground.env import env_bool

ENABLED = env_bool("METRICS_ENABLED", default=True)

# Seconds. Whole answers of LLMs take seconds; refusals and embeddings milliseconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
# Portico's own share of a request: well under a millisecond when all is well.
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
TTFT_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600)
BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000)

REQUESTS = Counter(
    "portico_requests",
    "/v1 answers, refusals included, by endpoint, model, provider and HTTP status.",
    ["endpoint", "model", "provider", "status"],
)
REQUEST_SECONDS = Histogram(
    "portico_request_duration_seconds",
    "Time from a /v1 request's arrival to its answer (a stream's whole duration).",
    ["endpoint", "model", "provider"],
    buckets=LATENCY_BUCKETS,
)
OVERHEAD_SECONDS = Histogram(
    "portico_gateway_overhead_seconds",
    "Portico's own time in a request that reached an upstream (the rest is the upstream's).",
    ["endpoint", "model", "provider"],
    buckets=OVERHEAD_BUCKETS,
)
TTFT_SECONDS = Histogram(
    "portico_time_to_first_token_seconds",
    "Time from a streamed request's arrival to its first content chunk.",
    ["endpoint", "model", "provider"],
    buckets=TTFT_BUCKETS,
)
UPSTREAM_ERRORS = Counter(
    "portico_upstream_errors",
    "Failed upstream calls, by provider, model and reason "
    "(timeout, connection, rate_limited, server_error, rejected).",
    ["provider", "model", "reason"],
)
FAILOVERS = Counter(
    "portico_upstream_failovers",
    "Requests passed on to the model's next deployment after one failed, by the provider that failed.",
    ["model", "provider"],
)
RATE_LIMITED = Counter(
    "portico_rate_limited",
    "429 answers, by endpoint and error code (Portico's limits and the providers').",
    ["endpoint", "code"],
)
PAYMENT_REQUIRED = Counter(
    "portico_payment_required",
    "402 answers (funds or budget), by endpoint and error code.",
    ["endpoint", "code"],
)
DRAIN_BATCH = Histogram(
    "portico_usage_drain_batch_size",
    "Usage events claimed per drain batch.",
    buckets=BATCH_BUCKETS,
)
DRAIN_LAG_SECONDS = Histogram(
    "portico_usage_drain_lag_seconds",
    "Time from a request's start to its usage event being drained into the database.",
    buckets=LAG_BUCKETS,
)
DRAINED = Counter("portico_usage_events_drained", "Usage events recorded in the database.")
PARKED = Counter(
    "portico_usage_events_parked", "Usage events the database refused, kept for an operator."
)
# Written by whichever process drained last; across processes the newest counts ("max").
DRAIN_LAST_RUN = Gauge(
    "portico_usage_drain_last_run_timestamp_seconds",
    "When a drain run last finished (Unix time): an alert on time() minus this catches a stalled drainer.",
    multiprocess_mode="max",
)

CODE_PATTERN = re.compile(r"[a-z0-9_]{1,60}")
_requests: dict[tuple[str, str, str, int], tuple] = {}
_refusals: dict[tuple[int, str, str], object] = {}
_upstream: dict[tuple[str, str, str], object] = {}
_failovers: dict[tuple[str, str], object] = {}


def request_children(endpoint: str, model: str, provider: str, status: int) -> tuple:
    key = (endpoint, model, provider, status)
    children = _requests.get(key)
    if children is None:
        labels = (endpoint, model, provider)
        children = _requests[key] = (
            REQUESTS.labels(endpoint, model, provider, str(status)),
            REQUEST_SECONDS.labels(*labels),
            OVERHEAD_SECONDS.labels(*labels),
            TTFT_SECONDS.labels(*labels),
        )
    return children


def observe_request(
    endpoint: str,
    model: str,
    provider: str,
    status: int,
    seconds: float,
    overhead_us: int | None = None,
    ttft_ms: int | None = None,
) -> None:
    """One /v1 answer: counted, timed, and its overhead and first token when known."""
    if not ENABLED:
        return
    count, duration, overhead, ttft = request_children(endpoint, model, provider, status)
    count.inc()
    duration.observe(seconds)
    if overhead_us is not None:
        overhead.observe(overhead_us / 1_000_000)
    if ttft_ms is not None:
        ttft.observe(ttft_ms / 1000)


def observe_refusal(endpoint: str, status: int, code: str | None) -> None:
    """A 429 or a 402 (other statuses are only counted by ``observe_request``)."""
    if not ENABLED or status not in (402, 429):
        return
    code = code if code and CODE_PATTERN.fullmatch(code) else "other"
    key = (status, endpoint, code)
    child = _refusals.get(key)
    if child is None:
        metric = RATE_LIMITED if status == 429 else PAYMENT_REQUIRED
        child = _refusals[key] = metric.labels(endpoint, code)
    child.inc()


def observe_upstream_error(provider: str, model: str, reason: str, *, failover: bool) -> None:
    """A failed upstream call; ``failover`` when the request moves on to another deployment."""
    if not ENABLED:
        return
    key = (provider, model, reason)
    child = _upstream.get(key)
    if child is None:
        child = _upstream[key] = UPSTREAM_ERRORS.labels(provider, model, reason)
    child.inc()
    if failover:
        moved = _failovers.get((model, provider))
        if moved is None:
            moved = _failovers[(model, provider)] = FAILOVERS.labels(model, provider)
        moved.inc()


def observe_drain_batch(size: int, lags: list[float]) -> None:
    """One claimed batch of usage events and, per event, how long it waited."""
    if not ENABLED:
        return
    DRAIN_BATCH.observe(size)
    for lag in lags:
        DRAIN_LAG_SECONDS.observe(max(lag, 0.0))


def observe_drain_run(recorded: int, finished_at: float) -> None:
    if not ENABLED:
        return
    if recorded:
        DRAINED.inc(recorded)
    DRAIN_LAST_RUN.set(finished_at)


def observe_parked() -> None:
    if ENABLED:
        PARKED.inc()
