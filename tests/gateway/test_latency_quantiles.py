"""Latency quantiles end to end: real calls through the server, the drain, the rollups."""

from __future__ import annotations

import math

import pytest

from catalog.stats import compute_stats
from tests.gateway.conftest import drained_records

HELLO = [{"role": "user", "content": "Say hello"}]


def exact_quantile(values: list[int], fraction: float) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def test_measured_latencies_give_quantiles_within_2_percent(client, fake):
    # The spread (TTFTs of 269–317 ms) read as p50 = p95 = 260 ms before.
    for delay in (270, 275, 280, 285, 290, 300, 310, 318):
        fake.configure(latency_ms=delay)
        stream = client.chat.completions.create(model="fake-llm", messages=HELLO, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    records = drained_records(model="fake-llm", status="ok")
    ttfts = [r.ttft_ms for r in records]
    latencies = [r.latency_ms for r in records]
    assert len(ttfts) == 8 and min(ttfts) >= 270

    stats = compute_stats(24)["fake-llm"]

    for name, values in (("ttft_", ttfts), ("", latencies)):
        p50, p95 = stats[f"{name}p50_ms"], stats[f"{name}p95_ms"]
        assert p50 == pytest.approx(exact_quantile(values, 0.5), rel=0.02), (name, values)
        assert p95 == pytest.approx(exact_quantile(values, 0.95), rel=0.02), (name, values)
        assert p95 > p50
    print(f"TTFTs {sorted(ttfts)} → p50 {stats['ttft_p50_ms']} p95 {stats['ttft_p95_ms']}")
