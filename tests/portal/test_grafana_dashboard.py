"""docs/grafana-portico.json: valid JSON whose every query names a metric Portico exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase

from ground import metrics
from portal.metrics import ScrapeTimeCollector

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-portico.json"
METRIC_NAME = re.compile(r"\bportico_[a-z0-9_]+")
SAMPLE_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "gauge": ("",),
}


def exported_names() -> set[str]:
    """Every sample name /metrics can carry: the processes' metrics and the scrape-time ones."""
    names = set()
    for obj in vars(metrics).values():
        if isinstance(obj, MetricWrapperBase):
            for family in obj.describe():
                names.update(family.name + suffix for suffix in SAMPLE_SUFFIXES[family.type])
    names.update(family.name for family in ScrapeTimeCollector().collect())
    return names


def expressions(dashboard: dict) -> list[str]:
    found = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    found += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return found


@pytest.mark.django_db
def test_every_dashboard_query_names_an_exported_metric():
    dashboard = json.loads(DASHBOARD.read_text())
    exported = exported_names()
    exprs = expressions(dashboard)
    assert len(dashboard["panels"]) >= 9
    for expr in exprs:
        used = METRIC_NAME.findall(expr)
        assert used, f"no Portico metric in {expr!r}"
        unknown = set(used) - exported
        assert not unknown, f"{expr!r} names metrics /metrics does not export: {unknown}"


@pytest.mark.django_db
def test_the_dashboard_covers_what_an_operator_watches():
    used = {
        name
        for expr in expressions(json.loads(DASHBOARD.read_text()))
        for name in METRIC_NAME.findall(expr)
    }
    for needed in (
        "portico_requests_total",  # RPS and error rate
        "portico_request_duration_seconds_bucket",
        "portico_gateway_overhead_seconds_bucket",
        "portico_time_to_first_token_seconds_bucket",
        "portico_payment_required_total",
        "portico_rate_limited_total",
        "portico_upstream_errors_total",
        "portico_upstream_failovers_total",
        "portico_usage_drain_lag_seconds_bucket",
        "portico_usage_drain_batch_size_bucket",
        "portico_usage_events_pending",
        "portico_ocr_jobs",
        "portico_retrieval_documents",
        "portico_holds_open",
    ):
        assert needed in used, f"no panel shows {needed}"


def test_panels_do_not_overlap_and_have_unique_ids():
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells = set()
    for panel in panels:
        box = panel["gridPos"]
        for x in range(box["x"], box["x"] + box["w"]):
            for y in range(box["y"], box["y"] + box["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))
        assert box["x"] + box["w"] <= 24
