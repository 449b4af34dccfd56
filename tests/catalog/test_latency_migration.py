"""Rollups recorded with the old 20 %-wide buckets are converted by catalog 0005."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from catalog import latency
from catalog.models import LatencyRollup

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("catalog", "0004_latency_overhead")]
AFTER = [("catalog", "0005_latency_log_linear_buckets")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_old_histograms_keep_their_counts_and_new_traffic_adds_to_them():
    old_apps = migrate(BEFORE)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    old_hist = [0] * 80
    old_hist[30] = 5  # ~261 ms, the "p50 = p95 = 260 ms"
    old_hist[40] = 1  # ~1.6 s
    old_apps.get_model("catalog", "LatencyRollup").objects.create(
        hour=hour, model="m", provider="p", requests=6, latency_hist=old_hist, ttft_hist=[]
    )

    migrate(AFTER)

    row = LatencyRollup.objects.get()
    assert latency.count(row.latency_hist) == 6
    assert row.ttft_hist == {}
    assert latency.percentile(row.latency_hist, 0.5) == pytest.approx(1.2**30.5, rel=0.02)
    assert latency.percentile(row.latency_hist, 1.0) == pytest.approx(1.2**40.5, rel=0.02)
    row.latency_hist = latency.add_to_histogram(row.latency_hist, 300)
    assert latency.count(row.latency_hist) == 7
