"""One funds lease: this process's view of it in memory, and its row's database steps.

How leases are used, sized and expired: ``billing.leases`` and ``docs/billing.md``.
Each database step is one transaction; a lease's steps never run at the same time in
one process (``Lease.steps``), so a give-back cannot cross a top-up.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from billing.holds import hold_ttl
from billing.models import Hold, Wallet
from billing.wallets import wallet_id_of
from ground.money import QUANTUM, ZERO, money_value

log = logging.getLogger(__name__)

MIN_WORST_CASES = 4  # a lease covers at least this many of its largest recent worst cases
# No lease while the wallet's free balance is under this many worst cases: small
# wallets keep per-request holds, so no process ever sits on most of one.
LEASE_MIN_WORST_CASES = 32
# What one lease holds never exceeds this share of what the wallet's requests can use
# (its free balance plus the lease itself): a killed process freezes at most that much,
# and only until its lease expires (HOLD_TTL_SECONDS after its last renewal).
MAX_WALLET_SHARE = Decimal("0.25")
# A lease admits requests only until this share of HOLD_TTL_SECONDS has passed since
# its row's expiry was last pushed on (counted from before that step began): a process
# whose upkeep stalls stops admitting before another process may release its row.
TRUSTED_SHARE_OF_TTL = 0.75


def trusted_until(started: float) -> float:
    """The monotonic time until which a lease renewed by a step begun at ``started``
    still certainly holds its row."""
    return started + hold_ttl().total_seconds() * TRUSTED_SHARE_OF_TTL


def money(amount: Decimal) -> Decimal:
    return amount.quantize(QUANTUM, rounding=ROUND_DOWN)


@dataclass(eq=False)
class Ticket:
    """One request's reservation from a lease: its worst case until it ends."""

    lease: Lease
    amount: Decimal
    started: float = field(default_factory=time.monotonic)

    @property
    def lease_id(self) -> int:
        return self.lease.pk


class Lease:
    """This process's view of one lease row. ``granted`` is what this process has in the
    row; ``used`` what its finished requests cost (the drain takes exactly that back out
    of the row); ``inflight`` the worst cases of requests still running."""

    def __init__(
        self,
        pk: int,
        organization_id: int,
        wallet_id: int,
        granted: Decimal,
        worst: Decimal,
        started: float | None = None,
    ):
        self.pk, self.organization_id, self.wallet_id = pk, organization_id, wallet_id
        self.lock = threading.Lock()  # the request path's bookkeeping
        self.steps = threading.Lock()  # one database step of this lease at a time
        self.granted = granted
        self.used = ZERO
        self.inflight = ZERO
        self.tickets: set[Ticket] = set()
        self.worst = worst
        self.closed = False
        now = time.monotonic()
        self.last_take = self.renewed = self.sampled_at = now
        self.sampled_used = ZERO
        self.rate = ZERO  # USD per second the wallet spends through this lease
        self.low_water = granted / 2
        self.retry_at = 0.0
        self.valid_until = trusted_until(now if started is None else started)

    @property
    def stale(self) -> bool:
        """Its upkeep has not renewed the row for too long: admit nothing from it."""
        return time.monotonic() >= self.valid_until

    def renewed_at(self, started: float) -> None:
        self.renewed = time.monotonic()
        self.valid_until = max(self.valid_until, trusted_until(started))

    @property
    def free(self) -> Decimal:
        return self.granted - self.used - self.inflight

    def take(self, amount: Decimal) -> Ticket | None:
        with self.lock:
            if self.closed or self.stale or self.granted - self.used - self.inflight < amount:
                if amount > self.worst:
                    self.worst = amount
                return None
            self.inflight += amount
            ticket = Ticket(self, amount)
            self.tickets.add(ticket)
            self.last_take = ticket.started
            return ticket

    def spend(self, cost: Decimal) -> None:
        """A part of a running request charged on a usage event of its own: spent now (the
        request's ticket still holds its whole worst case until it finishes)."""
        with self.lock:
            self.used += cost

    def finish(self, ticket: Ticket, cost: Decimal) -> None:
        """The request ended costing ``cost``: that replaces its worst case."""
        with self.lock:
            if ticket in self.tickets:
                self.tickets.discard(ticket)
                self.inflight -= ticket.amount
                self.used += cost

    def target(self, lease_seconds: float) -> Decimal:
        return max(MIN_WORST_CASES * self.worst, self.rate * Decimal(lease_seconds)) + self.inflight

    def sample_rate(self, now: float) -> None:
        elapsed = now - self.sampled_at
        if elapsed >= 1.0:
            recent = (self.used - self.sampled_used) / Decimal(elapsed)
            self.rate = (self.rate + recent) / 2 if self.rate else recent
            self.sampled_at, self.sampled_used = now, self.used

    def drop_stale_tickets(self, now: float, longest: float) -> None:
        """A request that never ended (a crash inside the view) stops counting after
        ``longest`` seconds, longer than any request runs."""
        with self.lock:
            for ticket in [t for t in self.tickets if now - t.started > longest]:
                self.tickets.discard(ticket)
                self.inflight -= ticket.amount


# --- The database steps (each one transaction) -----------------------------------------------
def wallet_room(wallet_id: int) -> tuple[Decimal, bool]:
    """The wallet's free balance, and whether it owes unpaid usage."""
    row = Wallet.objects.filter(pk=wallet_id).values("balance_usd", "held_usd", "unpaid_usd")[0]
    return row["balance_usd"] - row["held_usd"], row["unpaid_usd"] > 0


def hold_more(wallet_id: int, amount: Decimal, now) -> bool:
    """One conditional UPDATE: hold ``amount`` more only if the free balance covers it."""
    return bool(
        Wallet.objects.filter(
            pk=wallet_id, unpaid_usd=0, balance_usd__gte=F("held_usd") + money_value(amount)
        ).update(held_usd=F("held_usd") + money_value(amount), updated_at=now)
    )


def take_lease(organization_id: int, worst: Decimal, per_second: int) -> Lease | None:
    """Lease part of the wallet's free balance, or None when it is too small to share."""
    try:
        wallet_id = wallet_id_of(organization_id)
    except Wallet.DoesNotExist:
        return None
    started = time.monotonic()
    now = timezone.now()
    with transaction.atomic():
        free, unpaid = wallet_room(wallet_id)
        if unpaid or free < LEASE_MIN_WORST_CASES * worst:
            return None
        # A first guess of a second's spend; the lease grows with the measured rate.
        size = money(min(max(MIN_WORST_CASES, per_second) * worst, free * MAX_WALLET_SHARE))
        if size < worst or not hold_more(wallet_id, size, now):
            return None
        hold = Hold.objects.create(
            wallet_id=wallet_id,
            kind=Hold.Kind.LEASE,
            request_id=f"lease_{uuid.uuid4().hex}",
            amount_usd=size,
            expires_at=now + hold_ttl(),
        )
    log.info("funds lease %s: %s for organization %s", hold.pk, size, organization_id)
    return Lease(hold.pk, organization_id, wallet_id, size, worst, started)


def top_up(lease: Lease, wanted: Decimal) -> bool | None:
    """Grow the lease by up to ``wanted`` (and renew it), within its share of the wallet:
    one conditional UPDATE against the free balance. False when the wallet cannot spare a
    worst case now; None when the wallet is too small for a lease at all (give it back)."""
    started = time.monotonic()
    now = timezone.now()
    with lease.steps, transaction.atomic():
        if lease.closed:
            return False
        # The lease row first, then the wallet: the drain locks them in that order.
        row = Hold.objects.select_for_update().filter(pk=lease.pk, status=Hold.Status.OPEN)
        held = row.values_list("amount_usd", flat=True).first()
        if held is None:
            return False
        free, unpaid = wallet_room(lease.wallet_id)
        if unpaid:
            return False
        if free + held < LEASE_MIN_WORST_CASES * lease.worst:
            return None
        amount = money(min(wanted, (free + held) * MAX_WALLET_SHARE - held))
        if amount < lease.worst or not hold_more(lease.wallet_id, amount, now):
            return False
        Hold.objects.filter(pk=lease.pk).update(
            amount_usd=F("amount_usd") + money_value(amount), expires_at=now + hold_ttl()
        )
        with lease.lock:
            lease.granted += amount
    lease.renewed_at(started)
    return True


def renew(lease: Lease) -> bool:
    """Push the lease's expiry on while this process lives; False when the row is gone
    (expired while the process stalled) or the wallet owes unpaid usage."""
    started = time.monotonic()
    with lease.steps:
        if lease.closed or Wallet.objects.filter(pk=lease.wallet_id, unpaid_usd__gt=0).exists():
            return False
        alive = Hold.objects.filter(pk=lease.pk, status=Hold.Status.OPEN).update(
            expires_at=timezone.now() + hold_ttl()
        )
    if alive:
        lease.renewed_at(started)
    return bool(alive)


def give_back(lease: Lease) -> Decimal:
    """Close the lease to new requests and return what it holds beyond the costs not yet
    drained and the requests still running. The row closes once nothing is left in it
    (here, or when the drain takes the last cost out of it)."""
    with lease.steps:
        with lease.lock:
            lease.closed = True
            unused = max(lease.free, ZERO)
        now = timezone.now()
        with transaction.atomic():
            hold = (
                Hold.objects.select_for_update()
                .filter(pk=lease.pk, status=Hold.Status.OPEN)
                .first()
            )
            if hold is None:
                return ZERO
            back = min(unused, hold.amount_usd)
            hold.amount_usd -= back
            fields = ["amount_usd"]
            if hold.amount_usd == 0:
                hold.status, hold.closed_at = Hold.Status.RELEASED, now
                fields += ["status", "closed_at"]
            hold.save(update_fields=fields)
            if back:
                Wallet.objects.filter(pk=lease.wallet_id).update(
                    held_usd=F("held_usd") - money_value(back), updated_at=now
                )
        with lease.lock:
            lease.granted -= back
    log.info("funds lease %s: %s given back", lease.pk, back)
    return back


def renew_holds(hold_ids: list[int]) -> set[int]:
    """Rows this process vouches for (holds of its requests, leases it gave back with
    costs still to drain): their expiry moves on while it lives. A killed process stops
    doing this, and its rows expire soon after. Answers the ids still open."""
    rows = Hold.objects.filter(pk__in=hold_ids, status=Hold.Status.OPEN)
    with transaction.atomic():
        open_ids = set(rows.values_list("pk", flat=True))
        Hold.objects.filter(pk__in=open_ids, status=Hold.Status.OPEN).update(
            expires_at=timezone.now() + hold_ttl()
        )
    return open_ids
