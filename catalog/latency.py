"""Latency histograms that merge across hours: log-spaced buckets in milliseconds."""

from __future__ import annotations

import math

BASE = 1.2
BUCKETS = 80  # 1 ms … ~ 2 hours


def bucket_of(ms: int) -> int:
    if ms <= 1:
        return 0
    return min(BUCKETS - 1, int(math.log(ms) / math.log(BASE)))


def bucket_value(index: int) -> float:
    """A representative value for a bucket: the geometric middle of its bounds."""
    if index == 0:
        return 1.0
    return BASE ** (index + 0.5)


def add_to_histogram(histogram: list[int], ms: int) -> list[int]:
    hist = list(histogram) if len(histogram) == BUCKETS else [0] * BUCKETS
    hist[bucket_of(ms)] += 1
    return hist


def merge(histograms: list[list[int]]) -> list[int]:
    total = [0] * BUCKETS
    for hist in histograms:
        if len(hist) == BUCKETS:
            for i, count in enumerate(hist):
                total[i] += count
    return total


def percentile(histogram: list[int], fraction: float) -> float | None:
    count = sum(histogram)
    if not count:
        return None
    rank = fraction * count
    seen = 0
    for index, n in enumerate(histogram):
        seen += n
        if seen >= rank:
            return round(bucket_value(index), 1)
    return round(bucket_value(BUCKETS - 1), 1)
