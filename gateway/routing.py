"""Which deployment to try next: by priority, weighted within a priority, skipping
deployments that keep failing until their cool-down ends (per process)."""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass

from django.conf import settings

from catalog.snapshots import DeploymentEntry


@dataclass
class Health:
    failures: int = 0
    cooldown_until: float = 0.0


_health: dict[int, Health] = {}


def is_cooling_down(deployment_id: int, now: float | None = None) -> bool:
    health = _health.get(deployment_id)
    return health is not None and health.cooldown_until > (now or time.monotonic())


def record_success(deployment_id: int) -> None:
    health = _health.get(deployment_id)
    if health is not None:
        health.failures = 0
        health.cooldown_until = 0.0


def record_failure(deployment_id: int) -> None:
    health = _health.setdefault(deployment_id, Health())
    health.failures += 1
    if health.failures >= settings.DEPLOYMENT_FAILURES_BEFORE_COOLDOWN:
        health.cooldown_until = time.monotonic() + settings.DEPLOYMENT_COOLDOWN_SECONDS
        health.failures = 0


def seconds_until_healthy(deployments: tuple[DeploymentEntry, ...]) -> int:
    """Whole seconds until the first of these deployments' cool-downs ends (at least 1):
    the ``Retry-After`` of a 503 answered while every one of them cools down."""
    now = time.monotonic()
    ends = [
        health.cooldown_until
        for d in deployments
        if (health := _health.get(d.id)) is not None and health.cooldown_until > now
    ]
    return max(1, math.ceil(min(ends) - now)) if ends else 1


def cooldowns(now: float | None = None) -> dict[int, float]:
    """Deployments cooling down in this process: ``{deployment_id: seconds left}``."""
    now = now or time.monotonic()
    return {
        deployment_id: health.cooldown_until - now
        for deployment_id, health in _health.items()
        if health.cooldown_until > now
    }


def reset_health() -> None:
    _health.clear()


def attempt_order(deployments: tuple[DeploymentEntry, ...]) -> list[DeploymentEntry]:
    """Healthy deployments in the order to try them."""
    now = time.monotonic()
    healthy = [d for d in deployments if not is_cooling_down(d.id, now)]
    by_priority: dict[int, list[DeploymentEntry]] = {}
    for deployment in healthy:
        by_priority.setdefault(deployment.priority, []).append(deployment)
    ordered: list[DeploymentEntry] = []
    for priority in sorted(by_priority):
        group = by_priority[priority]
        if len(group) > 1:
            # Weighted order without replacement (Efraimidis–Spirakis).
            group = sorted(group, key=lambda d: random.random() ** (1 / d.weight), reverse=True)
        ordered.extend(group)
    return ordered
