"""The usage event: one typed record per request, made durable without a database write.

``UsageEvent`` is the only schema of usage: the gateway, OCR, the playground and
retrieval build one when a request ends and ``emit`` it. A web process writes it to a
Redis stream (with ``REDIS_URL``) or as one line appended to its own segment file in a
spool folder (the embedded default, ``usage.spool``), so a process killed right after
answering loses nothing. The worker drains them (``usage.drain``).

Events are sanitised where they are made (``__post_init__``): text without NUL or
other characters a database refuses, lengths and numbers within their columns. One
hostile request can therefore never make a batch fail to insert.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import orjson
from django.conf import settings

from ground.money import LARGEST_AMOUNT, QUANTUM
from ground.redis import get_async_redis, get_redis
from ground.text import clean_text
from usage import spool

MAX_INT = 2_147_483_647  # PositiveIntegerField's ceiling on every database
MAX_BIGINT = 2**63 - 1
MAX_COST = LARGEST_AMOUNT
TEXT_LIMITS = {
    "request_id": 64,
    "model": 200,
    "provider": 60,
    "upstream_model": 200,
    "source": 20,
    "endpoint": 40,
    "status": 12,
    "error_code": 60,
}
INT_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "estimated_prompt_tokens",
    "units",
    "latency_ms",
    "fallbacks",
)


@dataclass(slots=True)
class UsageEvent:
    request_id: str
    user_id: int
    model: str
    api_key_id: int | None = None
    # Whose wallet pays and whose budgets count it (from the key's context; the drain
    # places an event without them: ``usage.drain.place_events``).
    organization_id: int | None = None
    project_id: int | None = None
    provider: str = ""
    deployment_id: int | None = None
    upstream_model: str = ""
    source: str = "api_key"
    endpoint: str = "chat.completions"
    stream: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    tokens_reported: bool = True
    estimated_prompt_tokens: int = 0
    units: int = 0
    cost_usd: Decimal = Decimal(0)
    status: str = "ok"  # ok | error | cancelled
    http_status: int = 200
    error_code: str = ""
    latency_ms: int = 0
    ttft_ms: int | None = None
    fallbacks: int = 0
    overhead_us: int | None = None  # Portico's own time, for requests that reached an upstream
    lease_id: int | None = None  # the funds lease that admitted the request (billing.leases)
    created_at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        for name, limit in TEXT_LIMITS.items():
            setattr(self, name, clean_text(getattr(self, name), limit))
        for name in INT_FIELDS:
            setattr(self, name, bounded_int(getattr(self, name)))
        self.ttft_ms = None if self.ttft_ms is None else bounded_int(self.ttft_ms)
        self.overhead_us = None if self.overhead_us is None else bounded_int(self.overhead_us)
        for name in ("deployment_id", "api_key_id", "lease_id", "organization_id", "project_id"):
            value = getattr(self, name)
            setattr(self, name, None if value is None else min(max(int(value), 0), MAX_BIGINT))
        self.user_id = int(self.user_id)
        self.http_status = min(max(int(self.http_status), 0), 599)
        self.cost_usd = bounded_cost(self.cost_usd)
        self.stream = bool(self.stream)
        self.tokens_reported = bool(self.tokens_reported)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_json(self) -> bytes:
        values = {name: getattr(self, name) for name in FIELD_NAMES}
        values["cost_usd"] = str(self.cost_usd)
        return orjson.dumps(values)

    @classmethod
    def from_json(cls, data: bytes) -> UsageEvent:
        """Parse a stored event; ``ValueError`` when it is not a usable event."""
        try:
            values = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from None
        if not isinstance(values, dict):
            raise ValueError("not an object")
        try:
            return cls(**{k: v for k, v in values.items() if k in FIELD_NAMES})
        except (TypeError, ValueError, InvalidOperation) as exc:
            raise ValueError(f"unusable event: {exc}") from None


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(UsageEvent))


def bounded_int(value: object) -> int:
    return min(max(int(value or 0), 0), MAX_INT)


def bounded_cost(value: object) -> Decimal:
    try:
        cost = value if isinstance(value, Decimal) else Decimal(str(value or "0"))
    except InvalidOperation:
        raise ValueError(f"invalid cost {value!r}") from None
    if not cost.is_finite() or cost < 0:
        raise ValueError(f"invalid cost {value!r}")
    # Rounded as the database stores it, so the charge, the record and the lease agree.
    return min(cost, MAX_COST).quantize(QUANTUM, rounding=ROUND_HALF_UP)


# --- Emitting ----------------------------------------------------------------------------
async def emit(event: UsageEvent) -> None:
    payload = event.to_json()
    if settings.REDIS_URL:
        await get_async_redis().xadd(settings.USAGE_STREAM, {"e": payload})
    else:
        spool.append(str(settings.USAGE_SPOOL_DIR), payload)


def emit_sync(event: UsageEvent) -> None:
    payload = event.to_json()
    if settings.REDIS_URL:
        get_redis().xadd(settings.USAGE_STREAM, {"e": payload})
    else:
        spool.append(str(settings.USAGE_SPOOL_DIR), payload)
