"""Funds leases: a busy wallet's priced requests admitted in memory, not one hold each.

A per-request hold (``flows.reserve_funds``) costs one conditional ``UPDATE`` of the
wallet row on every priced request. A web process that sees a wallet busy (``BUSY``
priced requests within a second) instead takes a *lease*: one ``Hold`` row of kind
``lease`` for part of the wallet's free balance, taken in one transaction exactly like a
hold. Requests are then admitted against the lease in memory (a lock, a few additions):

* admission reserves the request's worst case from the lease (``Lease.take``);
* when the request ends, its actual cost replaces the worst case (``Lease.finish``) and
  the usage event carries the lease id;
* the drain, when it debits the wallet for that event, lowers the lease row by the same
  cost in the same transaction (``flows.settle_usage_events``). So ``balance − held``
  stays exact: a cost is held by the lease until the moment it is debited, never twice.

A background task of the process (``Leases.maintain``) tops a lease up before it runs
dry (one conditional ``UPDATE`` against the free balance), renews its expiry while the
process lives, and gives back what is unused when the wallet goes idle or the process
exits (``atexit``). A process killed with its lease outstanding loses nothing: its
usage events are durable and still lower the row when drained, and the rest of the
lease expires after ``HOLD_TTL_SECONDS`` like any hold (``release_expired_holds``).

Sizing: about ``LEASE_SECONDS`` of the wallet's recent spend, at least
``MIN_WORST_CASES`` worst cases, never more than ``MAX_FREE_SHARE`` of the free balance
(one process never locks up a small wallet). Below ``FALLBACK_WORST_CASES`` worst cases
of free balance, or for a key with spend caps (``check_key_budgets`` counts per-key
holds), requests keep today's per-request hold. ``FUNDS_LEASES=0`` turns leases off.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from billing.flows import hold_ttl, reserve_funds, wallet_id_of
from billing.models import Hold, Wallet
from portal.lib.money import QUANTUM, ZERO, money_value
from usage.events import UsageEvent

log = logging.getLogger(__name__)

BUSY = 8  # priced requests of one wallet within a second before this process leases
LEASE_SECONDS = 10  # a lease aims to cover this long of the wallet's recent spend
MIN_WORST_CASES = 4  # and at least this many of its largest recent worst cases
FALLBACK_WORST_CASES = 4  # less free balance than this: per-request holds
MAX_FREE_SHARE = Decimal("0.5")  # one lease or top-up takes at most this of the free balance
IDLE_SECONDS = 10  # a lease unused this long is given back
RETRY_SECONDS = 1.0  # after a wallet could not fund a lease or a top-up


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
    """This process's view of one lease row. ``granted`` is everything this process put
    into the row; ``used`` what its finished requests cost (the drain takes exactly that
    back out of the row); ``inflight`` the worst cases of requests still running."""

    def __init__(self, pk: int, user_id: int, wallet_id: int, granted: Decimal, worst: Decimal):
        self.pk, self.user_id, self.wallet_id = pk, user_id, wallet_id
        self.lock = threading.Lock()
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

    @property
    def free(self) -> Decimal:
        return self.granted - self.used - self.inflight

    def take(self, amount: Decimal) -> Ticket | None:
        with self.lock:
            if self.closed or self.granted - self.used - self.inflight < amount:
                if amount > self.worst:
                    self.worst = amount
                return None
            self.inflight += amount
            ticket = Ticket(self, amount)
            self.tickets.add(ticket)
            self.last_take = ticket.started
            return ticket

    def finish(self, ticket: Ticket, cost: Decimal) -> None:
        """The request ended costing ``cost``: that replaces its worst case."""
        with self.lock:
            if ticket in self.tickets:
                self.tickets.discard(ticket)
                self.inflight -= ticket.amount
                self.used += cost

    def target(self) -> Decimal:
        return max(MIN_WORST_CASES * self.worst, self.rate * LEASE_SECONDS) + self.inflight

    def sample_rate(self, now: float) -> None:
        elapsed = now - self.sampled_at
        if elapsed >= 1.0:
            recent = (self.used - self.sampled_used) / Decimal(elapsed)
            self.rate = (self.rate + recent) / 2 if self.rate else recent
            self.sampled_at, self.sampled_used = now, self.used

    def drop_stale_tickets(self, now: float, ttl: float) -> None:
        """A request that never ended (a crash inside the view) stops counting after the
        hold TTL, as its hold would have expired."""
        with self.lock:
            for ticket in [t for t in self.tickets if now - t.started > ttl]:
                self.tickets.discard(ticket)
                self.inflight -= ticket.amount


class Leases:
    """The leases of this process, one per busy wallet, and the task that keeps them."""

    def __init__(self) -> None:
        self.by_user: dict[int, Lease] = {}
        self.activity: dict[int, list] = {}  # user → [window start, requests, largest worst]
        self.wanted: dict[int, tuple[Decimal, int]] = {}  # user → (worst case, requests/s)
        self.retry_at: dict[int, float] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task | None = None
        self.wake: asyncio.Event | None = None
        self.exit_hook = False

    # --- The request path (event loop, no I/O) ----------------------------------------------
    def take(self, user_id: int, amount: Decimal) -> Ticket | None:
        lease = self.by_user.get(user_id)
        if lease is None:
            self.note(user_id, amount)
            return None
        ticket = lease.take(amount)
        if ticket is None or lease.free < lease.low_water:
            self.poke()
        return ticket

    def note(self, user_id: int, amount: Decimal) -> None:
        """Count a wallet's priced requests; a busy one gets a lease in the background."""
        now = time.monotonic()
        seen = self.activity.get(user_id)
        if seen is None or now - seen[0] > 1.0:
            if len(self.activity) > 100_000:
                self.activity.clear()
            self.activity[user_id] = [now, 1, amount]
            return
        seen[1] += 1
        seen[2] = max(seen[2], amount)
        if (
            seen[1] >= BUSY
            and user_id not in self.wanted
            and self.retry_at.get(user_id, 0.0) <= now
        ):
            self.wanted[user_id] = (seen[2], seen[1])
            self.poke()

    def poke(self) -> None:
        """Wake the maintenance task (started on first use in this event loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self.loop is not loop or self.task is None or self.task.done():
            self.loop, self.wake = loop, asyncio.Event()
            self.task = loop.create_task(self.run())
        self.wake.set()

    # --- The maintenance task -------------------------------------------------------------
    def tick_seconds(self) -> float:
        return max(min(0.5, settings.HOLD_TTL_SECONDS / 6), 0.05)

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=self.tick_seconds())
            self.wake.clear()
            try:
                await sync_to_async(self.maintain)()
            except Exception:  # the next tick tries again; requests fall back to holds
                log.exception("funds lease maintenance failed")
            await asyncio.sleep(0.01)  # many pokes in a burst make one pass

    def maintain(self) -> None:
        """Take wanted leases, top up, renew, and give back idle ones (sync thread)."""
        if not self.exit_hook:
            atexit.register(self.give_all_back)
            self.exit_hook = True
        now = time.monotonic()
        ttl = settings.HOLD_TTL_SECONDS
        for user_id, (worst, per_second) in list(self.wanted.items()):
            self.wanted.pop(user_id, None)
            if user_id not in self.by_user:
                lease = take_lease(user_id, worst, per_second)
                if lease is None:
                    self.retry_at[user_id] = now + RETRY_SECONDS
                else:
                    self.by_user[user_id] = lease
        for user_id, lease in list(self.by_user.items()):
            lease.drop_stale_tickets(now, ttl)
            lease.sample_rate(now)
            target = lease.target()
            lease.low_water = target / 2
            if now - lease.last_take > IDLE_SECONDS and not lease.tickets:
                self.by_user.pop(user_id, None)
                give_back(lease)
            elif lease.free < lease.low_water and now >= lease.retry_at:
                if not top_up(lease, target - lease.free):
                    lease.retry_at = now + RETRY_SECONDS
                    self.check_alive(user_id, lease)
            elif now - lease.renewed > min(ttl / 3, 5):
                self.check_alive(user_id, lease)

    def check_alive(self, user_id: int, lease: Lease) -> None:
        if not renew(lease):
            self.by_user.pop(user_id, None)
            give_back(lease)

    def give_all_back(self) -> None:
        """At exit: every unused lease back to its wallet."""
        for user_id, lease in list(self.by_user.items()):
            self.by_user.pop(user_id, None)
            try:
                give_back(lease)
            except Exception:
                log.exception("could not give back funds lease %s", lease.pk)


leases = Leases()


# --- The database steps (each one transaction) -----------------------------------------------
def take_lease(user_id: int, worst: Decimal, per_second: int) -> Lease | None:
    """Lease part of the wallet's free balance, or None when it is too small to share."""
    try:
        wallet_id = wallet_id_of(user_id)
    except Wallet.DoesNotExist:
        return None
    now = timezone.now()
    with transaction.atomic():
        wallet = Wallet.objects.filter(pk=wallet_id).values(
            "balance_usd", "held_usd", "unpaid_usd"
        )[0]
        free = wallet["balance_usd"] - wallet["held_usd"]
        if wallet["unpaid_usd"] > 0 or free < FALLBACK_WORST_CASES * worst:
            return None
        # A first guess of a second's spend; the lease grows with the measured rate.
        size = money(min(max(MIN_WORST_CASES, per_second) * worst, free * MAX_FREE_SHARE))
        if size < worst:
            return None
        taken = Wallet.objects.filter(
            pk=wallet_id, unpaid_usd=0, balance_usd__gte=F("held_usd") + money_value(size)
        ).update(held_usd=F("held_usd") + money_value(size), updated_at=now)
        if not taken:
            return None
        hold = Hold.objects.create(
            wallet_id=wallet_id,
            kind=Hold.Kind.LEASE,
            request_id=f"lease_{uuid.uuid4().hex}",
            amount_usd=size,
            expires_at=now + hold_ttl(),
        )
    log.info("funds lease %s: %s for user %s", hold.pk, size, user_id)
    return Lease(hold.pk, user_id, wallet_id, size, worst)


def top_up(lease: Lease, wanted: Decimal) -> bool:
    """Grow the lease by up to ``wanted`` (and renew it): one conditional UPDATE of the
    wallet against its free balance. False when the wallet cannot spare a worst case."""
    now = timezone.now()
    with transaction.atomic():
        wallet = Wallet.objects.filter(pk=lease.wallet_id).values(
            "balance_usd", "held_usd", "unpaid_usd"
        )[0]
        if wallet["unpaid_usd"] > 0:
            return False
        amount = money(min(wanted, (wallet["balance_usd"] - wallet["held_usd"]) * MAX_FREE_SHARE))
        if amount < lease.worst or amount <= 0:
            return False
        # The lease row first, then the wallet: the drain locks them in that order.
        alive = Hold.objects.filter(pk=lease.pk, status=Hold.Status.OPEN).update(
            amount_usd=F("amount_usd") + money_value(amount), expires_at=now + hold_ttl()
        )
        if not alive:
            return False
        taken = Wallet.objects.filter(
            pk=lease.wallet_id, unpaid_usd=0, balance_usd__gte=F("held_usd") + money_value(amount)
        ).update(held_usd=F("held_usd") + money_value(amount), updated_at=now)
        if not taken:
            transaction.set_rollback(True)
            return False
    with lease.lock:
        lease.granted += amount
    lease.renewed = time.monotonic()
    return True


def renew(lease: Lease) -> bool:
    """Push the lease's expiry on while this process lives; False when the row is gone
    (expired while the process stalled) or the wallet owes unpaid usage."""
    if Wallet.objects.filter(pk=lease.wallet_id, unpaid_usd__gt=0).exists():
        return False
    alive = Hold.objects.filter(pk=lease.pk, status=Hold.Status.OPEN).update(
        expires_at=timezone.now() + hold_ttl()
    )
    lease.renewed = time.monotonic()
    return bool(alive)


def give_back(lease: Lease) -> Decimal:
    """Return what the lease holds beyond the costs not yet drained and the requests
    still running; the row closes once nothing is left in it."""
    with lease.lock:
        lease.closed = True
        unused = lease.free
    if unused <= 0:
        return ZERO
    now = timezone.now()
    with transaction.atomic():
        hold = Hold.objects.select_for_update().filter(pk=lease.pk, status=Hold.Status.OPEN).first()
        if hold is None:
            return ZERO
        back = min(unused, hold.amount_usd)
        hold.amount_usd -= back
        fields = ["amount_usd"]
        if hold.amount_usd == 0:
            hold.status, hold.closed_at = Hold.Status.RELEASED, now
            fields += ["status", "closed_at"]
        hold.save(update_fields=fields)
        Wallet.objects.filter(pk=lease.wallet_id).update(
            held_usd=F("held_usd") - money_value(back), updated_at=now
        )
    log.info("funds lease %s: %s given back", lease.pk, back)
    return back


# --- Admission's reservation -------------------------------------------------------------------
async def reserve(
    user_id: int,
    request_id: str,
    amount: Decimal,
    *,
    api_key_id: int | None = None,
    budgets: dict[str, Decimal | None] | None = None,
) -> Hold | Ticket | None:
    """Reserve a request's worst case: from this process's lease of the wallet when it
    has one (no I/O), else a per-request hold (one conditional UPDATE)."""
    if amount <= 0:
        return None
    capped = budgets is not None and any(v is not None for v in budgets.values())
    if settings.FUNDS_LEASES and not capped:
        ticket = leases.take(user_id, amount)
        if ticket is not None:
            return ticket
    return await sync_to_async(reserve_funds)(
        user_id, request_id, amount, api_key_id=api_key_id, budgets=budgets
    )


def settle_locally(reservation: Hold | Ticket | None, event: UsageEvent) -> None:
    """The request ended: a lease ticket takes the actual cost in place of the worst
    case, and the usage event names the lease so the drain lowers it by that cost."""
    if isinstance(reservation, Ticket):
        event.lease_id = reservation.lease_id
        reservation.lease.finish(reservation, event.cost_usd)
