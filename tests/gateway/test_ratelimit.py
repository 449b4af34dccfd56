from __future__ import annotations

import asyncio

import pytest
from django.conf import settings

from gateway.ratelimit import DAY, MINUTE, LocalLimiter, RedisLimiter, Rule

LIMITERS = [LocalLimiter]
if settings.REDIS_URL:
    LIMITERS.append(RedisLimiter)


@pytest.fixture(params=LIMITERS, ids=lambda cls: cls.__name__)
def limiter(request):
    return request.param()


def run(coro):
    return asyncio.run(coro)


def rules(subject: str, rpm: int = 3, tpm: int | None = None, rpd: int | None = None) -> list[Rule]:
    chosen = [Rule(subject, "rpm", rpm, MINUTE)]
    if tpm:
        chosen.append(Rule(subject, "tpm", tpm, MINUTE))
    if rpd:
        chosen.append(Rule(subject, "rpd", rpd, DAY))
    return chosen


def unique(name: str) -> str:
    import uuid

    return f"{name}:{uuid.uuid4().hex[:8]}"


def test_it_admits_up_to_the_limit_and_then_refuses_with_retry_after(limiter):
    subject = unique("key")
    decisions = [run(limiter.admit(rules(subject), 0)) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.headers["x-ratelimit-remaining"] for d in decisions] == ["2", "1", "0", "0"]
    refused = decisions[-1]
    assert 1 <= refused.retry_after <= 60
    assert refused.headers["retry-after"] == str(refused.retry_after)
    assert refused.code == "rate_limit_exceeded"


def test_a_refused_request_consumes_nothing(limiter):
    subject = unique("key")
    chosen = rules(subject, rpm=10, tpm=100)
    assert run(limiter.admit(chosen, 80)).allowed
    refused = run(limiter.admit(chosen, 30))
    assert not refused.allowed and refused.code == "tokens_per_minute_exceeded"
    # The request counter did not move for the refused request.
    assert run(limiter.peek(chosen)).headers["x-ratelimit-remaining"] == "9"
    assert run(limiter.admit(chosen, 20)).allowed


def test_token_reservations_are_reconciled_after_the_call(limiter):
    subject = unique("key")
    chosen = rules(subject, rpm=10, tpm=100)
    first = run(limiter.admit(chosen, 90))
    assert first.allowed
    import time

    run(limiter.adjust(chosen, -60, at=time.time()))  # only 30 were really used
    assert run(limiter.admit(chosen, 60)).allowed


def test_a_daily_limit_refuses_with_its_own_code(limiter):
    subject = unique("user")
    chosen = rules(subject, rpm=100, rpd=2)
    run(limiter.admit(chosen, 0))
    run(limiter.admit(chosen, 0))
    refused = run(limiter.admit(chosen, 0))
    assert not refused.allowed and refused.code == "daily_limit_exceeded"
    assert "per day" in refused.message
