"""Nothing stops the meter: events are sanitised where they are made, and an event the
database still refuses is parked while the rest of its batch is recorded."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DatabaseError

from billing.credits import credit
from billing.models import Wallet
from ground.redis import get_redis
from tests.support.orgs import org_id
from tests.support.usage import usage_event
from usage import drain, spool
from usage.drain import discard_pending_events, drain_usage
from usage.events import UsageEvent, emit_sync
from usage.models import DeadUsageEvent, UsageRecord

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_slate():
    discard_pending_events()
    yield
    discard_pending_events()


def test_an_event_is_sanitised_where_it_is_made(alice):
    event = usage_event(
        alice,
        model="p\x00" + "m" * 500,
        provider="\ud800x",
        error_code="e\x07",
        prompt_tokens=10**12,
        deployment_id=2**70,
    )
    assert event.model == "p" + "m" * 199 and len(event.model) == 200
    assert "\x00" not in event.to_json().decode()
    assert event.provider == "?x" and event.error_code == "e"
    assert event.prompt_tokens == 2_147_483_647
    assert event.deployment_id == 2**63 - 1


def test_a_negative_or_non_numeric_cost_is_not_an_event(alice):
    for cost in ("-1", "NaN", "abc"):
        with pytest.raises(ValueError):
            usage_event(alice, cost_usd=cost)


def test_an_event_the_database_refuses_is_parked_and_the_rest_recorded(alice, monkeypatch):
    credit(org_id(alice), Decimal("1"), kind="adjustment", idempotency_key="drain:fund")
    good = [usage_event(alice, cost_usd="0.1") for _ in range(3)]
    poison = usage_event(alice, request_id="req_poison", cost_usd="0.1")
    for event in [*good[:2], poison, good[2]]:
        emit_sync(event)
    real = drain.usage_record_from

    def refusing(event):
        if event.request_id == "req_poison":
            raise DatabaseError("value refused by the database")
        return real(event)

    monkeypatch.setattr(drain, "usage_record_from", refusing)

    assert drain_usage() == 3

    assert set(UsageRecord.objects.values_list("request_id", flat=True)) == {
        e.request_id for e in good
    }
    parked = DeadUsageEvent.objects.get()
    assert parked.request_id == "req_poison" and "refused by the database" in parked.error
    assert Wallet.objects.get(organization__personal_for=alice).balance_usd == Decimal("0.7")
    assert drain_usage() == 0, "nothing is left pending to fail again"


def test_an_unreadable_event_is_parked(alice, settings):
    broken = b'{"request_id": "req_x", "user_id": '
    if settings.REDIS_URL:  # where the events wait: the Redis stream, or the spool
        get_redis().xadd(settings.USAGE_STREAM, {"e": broken})
    else:
        spool.append(str(settings.USAGE_SPOOL_DIR), broken)
    emit_sync(usage_event(alice))
    assert drain_usage() == 1
    assert DeadUsageEvent.objects.get().error.startswith("not JSON")


def test_a_page_sees_its_own_pending_events_without_draining(alice, bob):
    mine = usage_event(alice)
    emit_sync(mine)
    emit_sync(usage_event(bob))
    from usage.drain import pending_events

    assert [e.request_id for e in pending_events(alice.pk)] == [mine.request_id]
    assert not UsageRecord.objects.exists()


def test_round_trip_keeps_every_field(alice):
    event = usage_event(alice, ttft_ms=12, stream=True, units=3, cost_usd="0.0000001")
    assert UsageEvent.from_json(event.to_json()) == event
