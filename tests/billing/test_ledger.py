"""The ledger's invariants, reserve → settle, and holds left behind by a crashed process."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.credits import admin_adjust
from billing.errors import BillingError
from billing.holds import release_expired_holds, reserve_funds
from billing.ledger_page import ledger_page
from billing.models import Hold, LedgerEntry
from billing.wallets import set_low_balance_threshold
from ground.money import plain as money
from tests.billing.conftest import assert_ledger_invariants, fund, usage_event, wallet_of
from tests.support.orgs import org_id
from usage.drain import record_usage_events
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db


def test_the_balance_equals_the_ledger_and_charges_equal_usage_after_a_mixed_batch(alice, bob):
    fund(alice, "5")
    fund(bob, "1")
    held = reserve_funds(org_id(alice), "req_alice_held", Decimal("0.5"))
    events = [
        usage_event(alice, request_id="req_alice_held", cost_usd="0.0123456789"),
        usage_event(alice, cost_usd="0.0000001"),
        usage_event(alice, status="error", http_status=502, cost_usd="0"),
        usage_event(alice, status="cancelled", cost_usd="0.002"),
        usage_event(bob, cost_usd="0.3333333333", source="playground"),
        usage_event(bob, cost_usd="0"),
    ]
    duplicate = dataclasses.replace(events[1])

    assert record_usage_events([*events, duplicate]) == 6
    assert (
        record_usage_events([dataclasses.replace(events[0])]) == 0
    )  # drained again: no second charge

    for user in (alice, bob):
        assert_ledger_invariants(user)
    held.refresh_from_db()
    assert held.status == Hold.Status.SETTLED
    assert wallet_of(alice).held_usd == 0
    assert wallet_of(alice).balance_usd == Decimal("5") - Decimal("0.0143457789")
    assert LedgerEntry.objects.filter(kind="usage").count() == 4


def test_a_request_that_failed_releases_its_hold_without_a_charge(alice):
    fund(alice, "1")
    hold = reserve_funds(org_id(alice), "req_failed", Decimal("0.25"))
    assert wallet_of(alice).available_usd == Decimal("0.75")

    record_usage_events([usage_event(alice, request_id="req_failed", status="error", cost_usd="0")])

    hold.refresh_from_db()
    assert hold.status == Hold.Status.RELEASED
    assert wallet_of(alice).available_usd == Decimal("1")
    assert not LedgerEntry.objects.filter(kind="usage").exists()


def test_a_reservation_larger_than_available_is_refused_before_any_call(alice):
    fund(alice, "1")
    reserve_funds(org_id(alice), "req_one", Decimal("0.6"))

    with pytest.raises(BillingError) as refused:
        reserve_funds(org_id(alice), "req_two", Decimal("0.6"))

    assert refused.value.code == "insufficient_balance"
    assert "$0.40" in refused.value.message
    assert Hold.objects.count() == 1


def test_a_hold_of_a_killed_process_expires_and_a_late_event_still_charges_once(alice):
    fund(alice, "2")
    reserve_funds(org_id(alice), "req_orphan", Decimal("1.5"))
    assert wallet_of(alice).available_usd == Decimal("0.5")
    # The process died before its usage event: time passes beyond HOLD_TTL_SECONDS.
    Hold.objects.filter(request_id="req_orphan").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert release_expired_holds() == 1
    assert release_expired_holds() == 0

    hold = Hold.objects.get(request_id="req_orphan")
    assert hold.status == Hold.Status.EXPIRED
    assert (wallet_of(alice).held_usd, wallet_of(alice).available_usd) == (0, Decimal("2"))

    late = usage_event(alice, request_id="req_orphan", cost_usd="0.75")
    assert record_usage_events([late]) == 1
    assert record_usage_events([dataclasses.replace(late)]) == 0

    charges = LedgerEntry.objects.filter(kind="usage", request_id="req_orphan")
    assert [c.amount_usd for c in charges] == [Decimal("-0.75")]
    wallet = wallet_of(alice)
    assert (wallet.balance_usd, wallet.held_usd) == (Decimal("1.25"), 0)
    assert_ledger_invariants(alice)


def test_an_unexpired_hold_is_left_alone(alice):
    fund(alice, "1")
    reserve_funds(org_id(alice), "req_live", Decimal("0.5"))
    assert release_expired_holds() == 0
    assert wallet_of(alice).held_usd == Decimal("0.5")


def test_an_admin_deduction_cannot_take_money_held_for_requests(alice, staff_user):
    fund(alice, "1")
    reserve_funds(org_id(alice), "req_busy", Decimal("0.8"))

    with pytest.raises(BillingError) as refused:
        admin_adjust(org_id(alice), Decimal("-0.5"), reason="refund chargeback", actor=staff_user)

    assert refused.value.code == "insufficient_balance"
    posted = admin_adjust(
        org_id(alice), Decimal("-0.2"), reason="refund chargeback", actor=staff_user
    )
    assert posted.entry.actor == staff_user and posted.entry.staff_note == "refund chargeback"
    assert wallet_of(alice).available_usd == 0


def test_the_ledger_pages_newest_first_by_cursor(alice):
    for index in range(60):
        fund(alice, f"{index + 1}")
    first = ledger_page(org_id(alice), size=25)
    assert [e.amount_usd for e in first.entries][:2] == [Decimal(60), Decimal(59)]
    assert first.newer is None and first.older == first.entries[-1].pk

    second = ledger_page(org_id(alice), before=first.older, size=25)
    assert second.entries[0].amount_usd == Decimal(35)
    third = ledger_page(org_id(alice), before=second.older, size=25)
    assert [e.amount_usd for e in third.entries] == [Decimal(n) for n in range(10, 0, -1)]
    assert third.older is None and third.newer == third.entries[0].pk

    back = ledger_page(org_id(alice), after=third.newer, size=25)
    assert [e.pk for e in back.entries] == [e.pk for e in second.entries]
    assert back.newer == second.entries[0].pk and back.older == second.older


def test_setting_a_threshold_below_the_balance_arms_the_low_balance_mail(
    alice, mailoutbox, django_capture_on_commit_callbacks
):
    fund(alice, "10")
    set_low_balance_threshold(org_id(alice), Decimal("5"))
    assert not wallet_of(alice).low_balance_notified

    with django_capture_on_commit_callbacks(execute=True):
        record_usage_events([usage_event(alice, cost_usd="6")])

    assert wallet_of(alice).low_balance_notified
    [mail] = mailoutbox
    assert "below the $5.00 threshold" in mail.body and mail.to == ["alice@example.com"]


def test_a_threshold_already_above_the_balance_sends_no_mail_until_the_next_crossing(
    alice, mailoutbox, django_capture_on_commit_callbacks
):
    fund(alice, "3")
    set_low_balance_threshold(org_id(alice), Decimal("5"))
    with django_capture_on_commit_callbacks(execute=True):
        record_usage_events([usage_event(alice, cost_usd="1")])
    assert mailoutbox == []

    fund(alice, "10")  # recovers: re-armed
    assert not wallet_of(alice).low_balance_notified
    with django_capture_on_commit_callbacks(execute=True):
        record_usage_events([usage_event(alice, cost_usd="8")])
    assert len(mailoutbox) == 1

    set_low_balance_threshold(org_id(alice), None)
    assert wallet_of(alice).low_balance_threshold_usd is None


def test_a_negative_threshold_is_refused(alice):
    with pytest.raises(BillingError):
        set_low_balance_threshold(org_id(alice), Decimal("-1"))


def test_money_prints_plain_decimals():
    assert [money(Decimal(v)) for v in ("12.50", "0.0000100000", "0", "-3.10", "1E+2")] == [
        "12.5",
        "0.00001",
        "0",
        "-3.1",
        "100",
    ]


def test_usage_records_carry_the_cost_the_ledger_charged(alice):
    fund(alice, "1")
    event = usage_event(alice, cost_usd="0.123")
    record_usage_events([event])
    record = UsageRecord.objects.get(request_id=event.request_id)
    entry = LedgerEntry.objects.get(request_id=event.request_id)
    assert record.cost_usd == -entry.amount_usd == Decimal("0.123")
    assert entry.balance_after_usd == Decimal("0.877")
