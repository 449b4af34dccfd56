from __future__ import annotations

import dataclasses
import os
import signal
import time
from decimal import Decimal

import httpx
import pytest

from catalog.models import LatencyRollup
from tests.support.processes import PorticoServer, child_env
from tests.support.usage import usage_event
from usage.drain import drain_usage, record_usage_events
from usage.events import UsageEvent, emit_sync
from usage.models import UsageRecord, UsageRollup

HELLO = [{"role": "user", "content": "Say hello"}]


def event(user, **overrides) -> UsageEvent:
    return usage_event(user, model="m", provider="p", upstream_model="m", **overrides)


@pytest.mark.django_db
def test_recording_the_same_event_twice_makes_one_record_and_one_charge(alice):
    first = event(alice)
    assert record_usage_events([first, dataclasses.replace(first)]) == 1
    assert record_usage_events([dataclasses.replace(first)]) == 0
    record = UsageRecord.objects.get()
    assert record.cost_usd == Decimal("0.000025")
    rollup = UsageRollup.objects.get()
    assert (rollup.requests, rollup.prompt_tokens, rollup.cost_usd) == (1, 10, Decimal("0.000025"))


@pytest.mark.django_db
def test_rollups_add_up_per_hour_key_model_and_source(alice):
    now = time.time()
    events = [
        event(alice, created_at=now),
        event(alice, created_at=now, source="playground"),
        event(alice, created_at=now, status="error", http_status=502, cost_usd="0"),
    ]
    record_usage_events(events)
    totals = {r.source: (r.requests, r.errors) for r in UsageRollup.objects.all()}
    assert totals == {"api_key": (2, 1), "playground": (1, 0)}
    latency = LatencyRollup.objects.get()
    assert (latency.requests, latency.errors, sum(latency.latency_hist.values())) == (3, 1, 2)


@pytest.mark.django_db
def test_events_of_a_deleted_user_are_dropped_not_stuck(alice, bob):
    ghost = event(bob)
    bob.delete()
    assert record_usage_events([ghost, event(alice)]) == 1


@pytest.mark.django_db
def test_emitted_events_wait_durably_until_drained(alice):
    emit_sync(event(alice))
    emit_sync(event(alice))
    assert UsageRecord.objects.count() == 0
    assert drain_usage() == 2
    assert drain_usage() == 0


@pytest.mark.django_db(transaction=True)
def test_a_server_killed_right_after_answering_loses_no_usage(make_key, catalog, fake):
    server = PorticoServer(child_env())
    try:
        server.wait_ready()
        headers = {"Authorization": f"Bearer {make_key()}"}

        def call() -> httpx.Response:
            return httpx.post(
                server.url + "/v1/chat/completions",
                headers=headers,
                json={"model": "fake-llm", "messages": HELLO},
                timeout=10,
            )

        from tests.support.processes import wait_for

        response = wait_for(
            lambda: (r := call()).status_code == 200 and r, timeout=10, what="a 200"
        )
        os.killpg(server.proc.pid, signal.SIGKILL)  # no chance to flush anything
        server.proc.wait()
    finally:
        server.stop()
    request_id = response.headers["x-request-id"]
    drain_usage()
    record = UsageRecord.objects.get(request_id=request_id)
    assert record.completion_tokens == response.json()["usage"]["completion_tokens"]
