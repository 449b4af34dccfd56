"""How long a model whose every deployment cools down asks clients to wait."""

from __future__ import annotations

import time

import pytest

from catalog.snapshots import DeploymentEntry
from gateway import routing


@pytest.fixture(autouse=True)
def _fresh_health():
    routing.reset_health()
    yield
    routing.reset_health()


def deployment(id: int) -> DeploymentEntry:
    return DeploymentEntry(id=id, provider=None, upstream_model="m", priority=1, weight=1)


def cool_down(deployment_id: int, seconds_left: float) -> None:
    routing._health[deployment_id] = routing.Health(cooldown_until=time.monotonic() + seconds_left)


def test_the_wait_is_until_the_earliest_cooldown_ends_rounded_up():
    cool_down(1, 12.2)
    cool_down(2, 4.5)
    assert routing.seconds_until_healthy((deployment(1), deployment(2))) == 5
    assert routing.attempt_order((deployment(1), deployment(2))) == []


def test_the_wait_is_at_least_one_second():
    cool_down(1, 0.01)
    assert routing.seconds_until_healthy((deployment(1),)) == 1
    assert routing.seconds_until_healthy((deployment(9),)) == 1  # never failed: no record


def test_failures_past_the_threshold_start_a_cooldown_of_the_configured_length(settings):
    settings.DEPLOYMENT_COOLDOWN_SECONDS = 30
    settings.DEPLOYMENT_FAILURES_BEFORE_COOLDOWN = 2
    routing.record_failure(3)
    assert routing.attempt_order((deployment(3),)) == [deployment(3)]
    routing.record_failure(3)
    assert routing.seconds_until_healthy((deployment(3),)) == 30
