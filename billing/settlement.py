"""Settling recorded usage: each request is charged once and its hold (or its share of a
funds lease) closed, inside the usage drain's transaction."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from billing.models import Hold, LedgerEntry, Wallet
from billing.wallets import locked_wallet, update_low_balance_state
from ground.money import ZERO, format_cost, money_value
from usage.events import UsageEvent
from usage.placing import place_events

log = logging.getLogger(__name__)


def settle_usage_events(events: list[UsageEvent]) -> None:
    """Charge each newly recorded request once to its organization's wallet and close its
    hold (runs inside the drain's transaction, which has placed every event in an
    organization)."""
    if any(e.organization_id is None for e in events):  # not through the drain
        place_events([e for e in events if e.organization_id is None])
    by_org: dict[int, list[UsageEvent]] = {}
    for event in events:
        by_org.setdefault(event.organization_id, []).append(event)
    request_ids = [e.request_id for e in events]
    holds = {
        h.request_id: h for h in Hold.objects.select_for_update().filter(request_id__in=request_ids)
    }
    # Requests admitted against a funds lease (billing.leases): the lease shrinks by what
    # each one cost, in this transaction, so balance − held stays exact.
    lease_ids = {e.lease_id for e in events if e.lease_id}
    leases = (
        {
            h.pk: h
            for h in Hold.objects.select_for_update().filter(
                pk__in=lease_ids, kind=Hold.Kind.LEASE, status=Hold.Status.OPEN
            )
        }
        if lease_ids
        else {}
    )
    now = timezone.now()
    for organization_id in sorted(by_org):
        wallet = locked_wallet(organization_id)
        entries = []
        for event in by_org[organization_id]:
            cost = event.cost_usd
            hold = holds.get(event.request_id)
            if hold is not None and hold.status == Hold.Status.OPEN:
                if hold.wallet_id == wallet.pk:
                    wallet.held_usd -= hold.amount_usd
                else:  # held from another wallet (the key moved meanwhile): give it back there
                    release_elsewhere(hold)
                hold.status = Hold.Status.SETTLED if cost else Hold.Status.RELEASED
                hold.closed_at = now
            lease = leases.get(event.lease_id) if event.lease_id else None
            if lease is not None and lease.wallet_id == wallet.pk and cost:
                taken = min(cost, lease.amount_usd)
                lease.amount_usd -= taken
                wallet.held_usd -= taken
                if lease.amount_usd == 0:  # nothing left to hold: no open row of $0
                    lease.status, lease.closed_at = Hold.Status.SETTLED, now
            if cost:
                entries.append(charge_usage(wallet, event, cost))
        LedgerEntry.objects.bulk_create(entries)
        update_low_balance_state(wallet)
        wallet.save(
            update_fields=[
                "balance_usd",
                "held_usd",
                "unpaid_usd",
                "low_balance_notified",
                "updated_at",
            ]
        )
    Hold.objects.bulk_update(
        [h for h in holds.values() if h.closed_at == now], ["status", "closed_at"]
    )
    if leases:
        Hold.objects.bulk_update(list(leases.values()), ["amount_usd", "status", "closed_at"])


def release_elsewhere(hold: Hold) -> None:
    Wallet.objects.filter(pk=hold.wallet_id).update(
        held_usd=F("held_usd") - money_value(hold.amount_usd), updated_at=timezone.now()
    )


def charge_usage(wallet: Wallet, event: UsageEvent, cost: Decimal) -> LedgerEntry:
    """Debit ``cost``, never below zero: what the balance cannot cover (an upstream that
    billed more than the worst case held) is recorded as unpaid, and the owner's priced
    requests stop until a credit pays it (``post_entry``)."""
    charged = min(cost, max(wallet.balance_usd, ZERO))
    shortfall = cost - charged
    wallet.balance_usd -= charged
    description = f"{event.model} ({event.source})"
    if shortfall:
        wallet.unpaid_usd += shortfall
        description += f"; {format_cost(shortfall)} unpaid"
        log.warning(
            "Request %s cost %s but the wallet of organization %s covered only %s; %s unpaid",
            event.request_id,
            cost,
            wallet.organization_id,
            charged,
            shortfall,
        )
    return LedgerEntry(
        wallet=wallet,
        kind=LedgerEntry.Kind.USAGE,
        amount_usd=-charged,
        balance_after_usd=wallet.balance_usd,
        idempotency_key=f"usage:{event.request_id}",
        description=description[:300],
        request_id=event.request_id,
    )
