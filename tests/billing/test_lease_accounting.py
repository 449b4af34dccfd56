"""A funds lease's bookkeeping, step by step: what the drain, top-ups, give-backs and
expiry do to the lease row and the wallet (``billing.leases``)."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils import timezone

from accounts.places import Caps
from billing import leases
from billing.holds import release_expired_holds
from billing.models import Hold
from tests.billing.conftest import assert_ledger_invariants, fund, wallet_of
from tests.support.orgs import org_id
from tests.support.usage import usage_event
from usage.drain import record_usage_events

pytestmark = pytest.mark.django_db
WORST = Decimal("0.01")


@pytest.fixture
def lease(alice):
    fund(alice, "1")
    taken = leases.take_lease(org_id(alice), WORST, per_second=8)
    assert taken is not None
    return taken


def test_a_lease_takes_a_share_of_the_free_balance_in_one_hold_row(alice, lease):
    row = Hold.objects.get(pk=lease.pk)
    assert row.kind == Hold.Kind.LEASE and row.status == Hold.Status.OPEN
    assert row.amount_usd == lease.granted == 8 * WORST
    assert wallet_of(alice).held_usd == row.amount_usd
    assert row.api_key_id is None


def test_a_small_wallet_gets_no_lease(bob):
    fund(bob, WORST * (leases.LEASE_MIN_WORST_CASES - 1))
    assert leases.take_lease(org_id(bob), WORST, per_second=50) is None
    assert not Hold.objects.exists()


def test_one_lease_never_takes_more_than_its_share_of_a_wallet(bob):
    fund(bob, WORST * leases.LEASE_MIN_WORST_CASES)
    small = leases.take_lease(org_id(bob), WORST, per_second=100)
    assert small.granted == WORST * leases.LEASE_MIN_WORST_CASES * leases.MAX_WALLET_SHARE


def test_the_drain_lowers_the_lease_by_each_cost_it_debits(alice, lease):
    ticket = lease.take(WORST)
    assert ticket is not None and lease.free == lease.granted - WORST
    event = usage_event(alice, cost_usd=Decimal("0.0034"))
    leases.settle_locally(ticket, event)
    assert event.lease_id == lease.pk
    assert lease.free == lease.granted - Decimal("0.0034")

    record_usage_events([event])
    record_usage_events([event])  # a second look charges nothing twice

    wallet = wallet_of(alice)
    row = Hold.objects.get(pk=lease.pk)
    assert wallet.balance_usd == Decimal("1") - Decimal("0.0034")
    assert row.amount_usd == lease.granted - Decimal("0.0034") == wallet.held_usd
    assert_ledger_invariants(alice)


def test_a_lease_gives_back_all_but_the_costs_not_yet_drained(alice, lease):
    drained, pending = (
        usage_event(alice, cost_usd=Decimal("0.002")),
        usage_event(alice, cost_usd=Decimal("0.003")),
    )
    for event in (drained, pending):
        leases.settle_locally(lease.take(WORST), event)
    record_usage_events([drained])

    leases.give_back(lease)
    assert wallet_of(alice).held_usd == Decimal("0.003")
    assert lease.take(WORST) is None  # closed: the process takes a new lease or holds

    record_usage_events([pending])
    wallet = wallet_of(alice)
    assert (wallet.balance_usd, wallet.held_usd) == (Decimal("0.995"), 0)
    assert_ledger_invariants(alice)


def test_a_top_up_grows_the_lease_from_the_free_balance_only(alice, lease):
    assert leases.top_up(lease, Decimal("0.05"))
    assert lease.granted == Decimal("0.13") == Hold.objects.get(pk=lease.pk).amount_usd
    assert wallet_of(alice).held_usd == Decimal("0.13")
    # Never more than its share of what the wallet's requests can use.
    assert leases.top_up(lease, Decimal("100"))
    wallet = wallet_of(alice)
    assert lease.granted == wallet.held_usd == wallet.balance_usd * leases.MAX_WALLET_SHARE
    assert leases.top_up(lease, Decimal("100")) is False
    assert_ledger_invariants(alice)


def test_an_abandoned_lease_expires_and_its_late_events_still_charge_exactly(alice, lease):
    ticket = lease.take(WORST)
    event = usage_event(alice, cost_usd=Decimal("0.004"))
    leases.settle_locally(ticket, event)
    Hold.objects.filter(pk=lease.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert release_expired_holds() == 1
    assert wallet_of(alice).held_usd == 0
    assert not leases.renew(lease)  # a process that comes back finds its lease gone
    record_usage_events([event])
    assert wallet_of(alice).balance_usd == Decimal("0.996")
    assert_ledger_invariants(alice)


@pytest.mark.django_db(transaction=True)
def test_with_leases_off_every_request_gets_its_own_hold(alice, lease, settings):
    lease.low_water = Decimal(0)
    leases.leases.by_org[org_id(alice)] = lease
    try:
        settings.FUNDS_LEASES = True
        on = async_to_sync(leases.reserve)(org_id(alice), "req_on", WORST)
        capped = async_to_sync(leases.reserve)(
            org_id(alice), "req_capped", WORST, caps=Caps(key_daily=Decimal(5))
        )
        settings.FUNDS_LEASES = False
        off = async_to_sync(leases.reserve)(org_id(alice), "req_off", WORST)
    finally:
        leases.leases.by_org.pop(org_id(alice), None)
    assert isinstance(on, leases.Ticket) and on.lease is lease
    assert isinstance(capped, Hold) and capped.request_id == "req_capped"
    assert isinstance(off, Hold) and off.request_id == "req_off"


def open_leases_metric() -> float:
    from portal.metrics import ScrapeTimeCollector

    families = {family.name: family for family in ScrapeTimeCollector().holds()}
    return families["portico_funds_leases_open"].samples[0].value


def test_a_lease_the_drain_empties_is_closed_not_left_open_at_zero(alice, lease):
    ticket = lease.take(lease.granted)  # the process spends all of it
    event = usage_event(alice, cost_usd=lease.granted)
    leases.settle_locally(ticket, event)
    leases.give_back(lease)  # nothing unused: the row keeps only the cost not yet drained
    assert Hold.objects.get(pk=lease.pk).status == Hold.Status.OPEN
    assert open_leases_metric() == 1

    record_usage_events([event])
    row = Hold.objects.get(pk=lease.pk)
    assert (row.status, row.amount_usd) == (Hold.Status.SETTLED, 0) and row.closed_at
    assert open_leases_metric() == 0
    assert wallet_of(alice).held_usd == 0
    assert_ledger_invariants(alice)


def test_a_lease_given_back_with_nothing_left_closes_at_once(alice, lease):
    ticket = lease.take(lease.granted)
    event = usage_event(alice, cost_usd=lease.granted)
    leases.settle_locally(ticket, event)
    record_usage_events([event])  # the drain took the last cost out while the process lived
    leases.give_back(lease)
    row = Hold.objects.get(pk=lease.pk)
    assert row.status != Hold.Status.OPEN and row.amount_usd == 0
    assert open_leases_metric() == 0


def test_a_wallet_grown_too_small_for_a_lease_gets_no_top_up(alice, lease):
    from billing.holds import reserve_funds

    free = wallet_of(alice).balance_usd - wallet_of(alice).held_usd
    reserve_funds(org_id(alice), "req_big", free - WORST * (leases.LEASE_MIN_WORST_CASES - 10))
    lease.take(lease.granted)
    assert leases.top_up(lease, WORST) is None  # the process gives the lease back


@pytest.mark.django_db(transaction=True)
def test_the_last_funds_left_in_a_lease_go_back_to_serve_a_request(alice, lease):
    """Half a worst case free in the lease and half in the wallet: one request fits."""
    from billing.holds import reserve_funds

    half = WORST / 2
    wallet = wallet_of(alice)
    reserve_funds(org_id(alice), "req_most", wallet.balance_usd - wallet.held_usd - half)
    assert lease.take(lease.granted - half) is not None
    lease.low_water = Decimal(0)
    leases.leases.by_org[org_id(alice)] = lease
    try:
        held = async_to_sync(leases.reserve)(org_id(alice), "req_last", WORST)
    finally:
        leases.leases.by_org.pop(org_id(alice), None)
    assert isinstance(held, Hold) and held.amount_usd == WORST
    assert lease.closed and lease.free == 0
    wallet = wallet_of(alice)
    assert wallet.held_usd == wallet.balance_usd
    assert_ledger_invariants(alice)


def test_a_lease_whose_renewal_is_overdue_admits_nothing_until_renewed(alice, lease):
    """A process whose upkeep stalled stops admitting before another process could
    release its row as expired; a renewal that reaches the row lets it admit again."""
    lease.valid_until = time.monotonic() - 0.001
    assert lease.stale
    assert lease.take(WORST) is None
    assert leases.renew(lease)
    assert not lease.stale
    assert lease.valid_until <= time.monotonic() + settings.HOLD_TTL_SECONDS
    assert lease.take(WORST) is not None


def test_a_lease_trusts_its_row_for_less_than_the_hold_ttl(alice, lease):
    before = time.monotonic()
    assert leases.renew(lease)
    assert lease.valid_until - before < settings.HOLD_TTL_SECONDS


def test_a_part_of_a_request_charged_on_its_own_event_is_taken_from_the_lease(alice, lease):
    """A Responses file_search search is its own usage event while the request runs on:
    under a lease it is spent at once (the lease admits that much less) and the drain
    takes it out of the lease row, so balance − held stays exact."""
    ticket = lease.take(WORST)
    search = usage_event(alice, cost_usd=Decimal("0.002"))
    leases.settle_part(ticket, search)
    assert search.lease_id == lease.pk
    assert lease.free == lease.granted - WORST - Decimal("0.002")  # worst case still held
    answer = usage_event(alice, cost_usd=Decimal("0.003"))
    leases.settle_locally(ticket, answer)
    assert lease.free == lease.granted - Decimal("0.005")

    record_usage_events([search, answer])

    wallet = wallet_of(alice)
    row = Hold.objects.get(pk=lease.pk)
    assert wallet.balance_usd == Decimal("1") - Decimal("0.005")
    assert row.amount_usd == lease.granted - Decimal("0.005") == wallet.held_usd
    assert_ledger_invariants(alice)


def test_a_part_of_a_request_under_its_own_hold_leaves_the_hold_to_the_request(alice):
    fund(alice, "1")
    before = wallet_of(alice).balance_usd
    search = usage_event(alice, cost_usd=Decimal("0.002"))
    leases.settle_part(None, search)
    assert search.lease_id is None
    record_usage_events([search])
    assert wallet_of(alice).balance_usd == before - Decimal("0.002")
