"""The latency histogram's bucket maths: bounded relative error, monotone quantiles."""

from __future__ import annotations

import math
import random
from importlib import import_module

import pytest

from catalog import latency

migration = import_module("catalog.migrations.0005_latency_log_linear_buckets")


def exact_quantile(values: list[int], fraction: float) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def test_every_value_from_0_ms_to_2_hours_is_within_its_bucket_and_2_percent_of_its_middle():
    worst = 0.0
    # Every value up to 70 s, then a stride through the rest (keeps this under a second).
    values = list(range(0, 70_000)) + list(range(70_000, latency.MAX_MS + 1, 997))
    for ms in values:
        index = latency.bucket_of(ms)
        low, high = latency.bucket_bounds(index)
        assert low <= ms <= high, ms
        if ms:
            worst = max(worst, abs(latency.bucket_value(index) - ms) / ms)
    assert worst <= latency.MAX_RELATIVE_ERROR < 0.02
    print(f"worst relative error 0 ms … {latency.MAX_MS} ms: {worst:.4%}")


def test_buckets_are_contiguous_and_ordered():
    last = latency.bucket_of(latency.MAX_MS)
    previous_high = -1
    for index in range(last + 1):
        low, high = latency.bucket_bounds(index)
        assert low == previous_high + 1 and high >= low, index
        assert latency.bucket_of(low) == latency.bucket_of(high) == index
        previous_high = high
    assert previous_high == latency.MAX_MS
    assert last < 700  # a sparse dict of at most a few hundred keys


def test_out_of_range_values_land_in_the_end_buckets():
    assert latency.bucket_of(-5) == 0
    assert latency.bucket_of(10**12) == latency.bucket_of(latency.MAX_MS)


def test_the_reported_case_gives_distinct_accurate_quantiles():
    # The issue: all TTFTs 269–317 ms read as p50 = p95 = 260 ms from 20 %-wide buckets.
    ttfts = [269, 271, 272, 274, 276, 280, 283, 288, 295, 301, 309, 317]
    hist: dict = {}
    for ms in ttfts:
        hist = latency.add_to_histogram(hist, ms)
    p50, p95 = latency.percentile(hist, 0.5), latency.percentile(hist, 0.95)
    assert p50 == pytest.approx(exact_quantile(ttfts, 0.5), rel=0.02)
    assert p95 == pytest.approx(exact_quantile(ttfts, 0.95), rel=0.02)
    assert 269 * 0.98 <= p50 < p95 <= 317 * 1.02


@pytest.mark.parametrize("seed", range(5))
def test_quantiles_of_random_samples_are_monotone_and_within_2_percent(seed):
    rng = random.Random(seed)
    values = [int(rng.lognormvariate(math.log(300 * 10**seed / 10), 1.2)) + 1 for _ in range(3000)]
    hists = [{}, {}, {}]
    for i, ms in enumerate(values):
        hists[i % 3] = latency.add_to_histogram(hists[i % 3], ms)
    merged = latency.merge(hists)  # hours merge into a day without losing precision
    assert latency.count(merged) == len(values)
    previous = 0.0
    for fraction in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0):
        got = latency.percentile(merged, fraction)
        want = exact_quantile(values, fraction)
        if want <= latency.MAX_MS:
            assert got == pytest.approx(want, rel=0.02), fraction
        assert got >= previous
        previous = got


def test_an_empty_histogram_has_no_quantiles():
    assert latency.percentile({}, 0.5) is None
    assert latency.percentile([], 0.5) is None  # an old-layout default
    assert latency.merge([[], {}]) == {}


def test_the_migration_keeps_every_count_of_an_old_histogram():
    old = [0] * 80
    old[30] = 7  # 1.2**30.5 ≈ 261 ms: the "260 ms"
    old[31] = 2
    new = migration.convert(old)
    assert latency.count(new) == 9
    assert latency.percentile(new, 0.5) == pytest.approx(261, rel=0.02)
    assert migration.convert(new) == new  # idempotent on converted rows
    assert migration.new_bucket_of(12345) == latency.bucket_of(12345)
