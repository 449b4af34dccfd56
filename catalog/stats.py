"""Latency and throughput per model from the hourly rollups (never from raw records)."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from catalog import latency
from catalog.models import LatencyRollup

CACHE_SECONDS = 15


def summarize(rows: list[LatencyRollup], window: str) -> dict:
    requests = sum(r.requests for r in rows)
    errors = sum(r.errors for r in rows)
    ok = requests - errors
    lat = latency.merge([r.latency_hist for r in rows])
    ttft = latency.merge([r.ttft_hist for r in rows])
    ttft_count = sum(r.ttft_count for r in rows)
    output = sum(r.output_tokens for r in rows)
    generation = sum(r.generation_ms for r in rows)
    overhead_count = sum(r.overhead_count for r in rows)
    overhead_us = sum(r.overhead_us_sum for r in rows)
    return {
        "window": window,
        "sample_size": requests,
        "average_ms": round(sum(r.latency_ms_sum for r in rows) / ok, 1) if ok else None,
        "p50_ms": latency.percentile(lat, 0.5),
        "p95_ms": latency.percentile(lat, 0.95),
        "ttft_average_ms": round(sum(r.ttft_ms_sum for r in rows) / ttft_count, 1)
        if ttft_count
        else None,
        "ttft_p50_ms": latency.percentile(ttft, 0.5),
        "ttft_p95_ms": latency.percentile(ttft, 0.95),
        "tokens_per_second": round(output * 1000 / generation, 1) if generation else None,
        "gateway_overhead_ms": round(overhead_us / overhead_count / 1000, 3)
        if overhead_count
        else None,
        "error_rate": round(errors / requests, 4) if requests else None,
    }


def compute_stats(hours: int, *, by_provider: bool = False) -> dict:
    since = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    groups: dict = {}
    for row in LatencyRollup.objects.filter(hour__gte=since):
        key = (row.model, row.provider) if by_provider else row.model
        groups.setdefault(key, []).append(row)
    label = f"{hours}h"
    return {key: summarize(rows, label) for key, rows in groups.items()}


def model_stats(hours: int = 24) -> dict[str, dict]:
    """``{model_id: stats}`` over the last ``hours`` hours, cached briefly."""
    key = f"latency-stats:{hours}"
    stats = cache.get(key)
    if stats is None:
        stats = compute_stats(hours)
        cache.set(key, stats, CACHE_SECONDS)
    return stats


def hourly_series(model_id: str, hours: int = 24) -> list[dict]:
    """One point per hour for the model page's charts."""
    since = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    by_hour: dict = {}
    for row in LatencyRollup.objects.filter(model=model_id, hour__gte=since).order_by("hour"):
        by_hour.setdefault(row.hour, []).append(row)
    return [
        {"hour": hour.isoformat(), **summarize(rows, "1h")}
        for hour, rows in sorted(by_hour.items())
    ]
