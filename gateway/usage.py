"""``GET /v1/usage``: the caller's usage records, newest first, with an ``after`` cursor."""

from __future__ import annotations

from gateway.metering import drain_usage
from gateway.models import UsageRecord
from portal.errors import ApiError

ID_PREFIX = "usage_"


def public_id(record: UsageRecord) -> str:
    return f"{ID_PREFIX}{record.pk}"


def parse_cursor(after: str) -> int | None:
    if not after:
        return None
    raw = after.removeprefix(ID_PREFIX)
    if not raw.isdigit():
        raise ApiError(
            400,
            f"'after' must be a usage record id like 'usage_123', got {after!r}.",
            param="after",
        )
    return int(raw)


def usage_item(record: UsageRecord) -> dict:
    return {
        "id": public_id(record),
        "object": "usage_record",
        "model": record.model,
        "source": record.source,
        "input_tokens": record.prompt_tokens,
        "output_tokens": record.completion_tokens,
        "total_tokens": record.total_tokens,
        "created_at": int(record.created_at.timestamp()),
        "cost_usd": float(record.cost_usd),
        "cost_usd_exact": str(record.cost_usd.normalize()) if record.cost_usd else "0",
        "request_id": record.request_id,
        "endpoint": record.endpoint,
        "provider": record.provider,
        "status": record.status,
        "http_status": record.http_status,
        "stream": record.stream,
        "cached_tokens": record.cached_tokens,
        "tokens_reported": record.tokens_reported,
        "latency_ms": record.latency_ms,
        "ttft_ms": record.ttft_ms,
    }


def usage_page(user_id: int, *, model: str = "", limit: int = 20, after: str = "") -> dict:
    cursor = parse_cursor(after)
    # Read-your-writes: requests that just finished are still in the event stream.
    drain_usage(max_batches=2)
    records = UsageRecord.objects.filter(user_id=user_id)
    if model:
        records = records.filter(model=model)
    if cursor is not None:
        records = records.filter(pk__lt=cursor)
    rows = list(records.order_by("-pk")[: limit + 1])
    return {
        "object": "list",
        "data": [usage_item(r) for r in rows[:limit]],
        "has_more": len(rows) > limit,
    }
