"""Latency histograms that merge across hours: log-linear buckets in milliseconds.

The layout is the one HDR histograms use. Values below ``EXACT`` (64 ms) get a bucket
each. Above, every power of two ``[2**k, 2**(k+1))`` is cut into ``SUB_BUCKETS`` (32)
equal parts, so a bucket is at most 1/32 of its lower bound wide and its middle is
within 1/64 (1.6 %) of any value in it. Everything is integer arithmetic on whole
milliseconds, so a value always lands in the same bucket.

A histogram is stored sparse, ``{"<bucket index>": count}`` (JSON keys are strings):
an hour's latencies touch a few dozen of the ~700 buckets between 1 ms and 2 hours.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

SUB_BITS = 5
SUB_BUCKETS = 1 << SUB_BITS  # 32 parts per power of two
EXACT = SUB_BUCKETS * 2  # below 64 ms a bucket holds one value
MAX_MS = 2**23 - 1  # ~2.3 hours; longer requests count in the last bucket
MAX_RELATIVE_ERROR = 1 / (2 * SUB_BUCKETS)

Histogram = dict[str, int]


def bucket_of(ms: int) -> int:
    ms = min(max(int(ms), 0), MAX_MS)
    if ms < EXACT:
        return ms
    shift = ms.bit_length() - 1 - SUB_BITS  # ≥ 1 here
    return EXACT + (shift - 1) * SUB_BUCKETS + (ms >> shift) - SUB_BUCKETS


def bucket_bounds(index: int) -> tuple[int, int]:
    """The smallest and largest whole millisecond the bucket holds."""
    if index < EXACT:
        return index, index
    shift = (index - EXACT) // SUB_BUCKETS + 1
    sub = (index - EXACT) % SUB_BUCKETS + SUB_BUCKETS
    low = sub << shift
    return low, low + (1 << shift) - 1


def bucket_value(index: int) -> float:
    """A representative value for a bucket: the middle of the whole values it holds."""
    low, high = bucket_bounds(index)
    return (low + high) / 2


def add_to_histogram(histogram: Mapping[str, int] | list, ms: int) -> Histogram:
    # A list is the old (20 %-wide) layout; migration 0005 converts those rows, so a
    # list seen here is an empty default.
    hist = dict(histogram) if isinstance(histogram, Mapping) else {}
    key = str(bucket_of(ms))
    hist[key] = hist.get(key, 0) + 1
    return hist


def merge(histograms: Iterable[Mapping[str, int] | list]) -> Histogram:
    total: Histogram = {}
    for hist in histograms:
        if isinstance(hist, Mapping):
            for key, count in hist.items():
                total[key] = total.get(key, 0) + count
    return total


def count(histogram: Mapping[str, int]) -> int:
    return sum(histogram.values())


def percentile(histogram: Mapping[str, int], fraction: float) -> float | None:
    """The nearest-rank quantile: the value of the ``ceil(fraction × n)``-th sample.

    Walking the buckets in order makes quantiles monotone: p95 ≥ p50 always.
    """
    total = count(histogram) if isinstance(histogram, Mapping) else 0
    if not total:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for index, n in sorted((int(k), n) for k, n in histogram.items()):
        seen += n
        if seen >= rank:
            return round(bucket_value(index), 1)
    return None  # unreachable: the last bucket brings seen to total ≥ rank
