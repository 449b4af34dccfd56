"""Funds leases: a busy wallet's priced requests admitted in memory, not one hold each;
and the heartbeat that keeps this process's holds alive while it lives.

A per-request hold (``billing.holds.reserve_funds``) costs one conditional ``UPDATE`` of the
wallet row on every priced request. A web process that sees a wallet busy (``BUSY``
priced requests within a second) instead takes a *lease*: one ``Hold`` row of kind
``lease`` for part of the wallet's free balance, taken in one transaction exactly like a
hold (``billing.lease``). Requests are then admitted against the lease in memory (a
lock, a few additions):

* admission reserves the request's worst case from the lease (``Lease.take``);
* when the request ends, its actual cost replaces the worst case (``Lease.finish``) and
  the usage event carries the lease id;
* the drain, when it debits the wallet for that event, lowers the lease row by the same
  cost in the same transaction (``billing.settlement.settle_usage_events``), and closes the row when
  nothing is left in it. So ``balance − held`` stays exact: a cost is held by the lease
  until the moment it is debited, never twice.

Sizing (``billing.lease``): about ``LEASE_SECONDS`` of the wallet's recent spend, at
least ``MIN_WORST_CASES`` worst cases, never more than ``MAX_WALLET_SHARE`` (a quarter)
of what the wallet's requests can use. A wallet with less than ``LEASE_MIN_WORST_CASES``
(32) worst cases free gets no lease (a lease it has is given back): per-request holds
there. A request the wallet cannot fund while this process's lease of it still has
something unused gives that back first and tries again, so a wallet is never split
into pieces too small for one request. A key with spend caps keeps per-request holds
(``check_key_budgets`` counts per-key holds). ``FUNDS_LEASES=0`` turns leases off.

Crashes: a background task of the process (``Leases.maintain``) tops a lease up before
it runs dry, renews the expiry of its leases and of the per-request holds of requests
still running here (every ``min(HOLD_TTL_SECONDS / 3, 5)`` seconds), and gives back
what is unused when the wallet goes idle or the process exits. A process killed with a
lease or holds outstanding loses no usage (its events are durable and still lower the
row when drained); what they still hold expires at most ``HOLD_TTL_SECONDS`` (30 s)
after the kill: a request refused for lack of funds releases its wallet's expired holds
first, and ``release_expired_holds`` runs every few seconds.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from accounts.places import Caps
from billing.errors import BillingError
from billing.holds import reserve_funds
from billing.lease import (  # noqa: F401 (the lease's steps, for callers of this module)
    LEASE_MIN_WORST_CASES,
    MAX_WALLET_SHARE,
    MIN_WORST_CASES,
    Lease,
    Ticket,
    give_back,
    renew,
    renew_holds,
    take_lease,
    top_up,
)
from billing.models import Hold
from usage.events import UsageEvent

log = logging.getLogger(__name__)

BUSY = 8  # priced requests of one wallet within a second before this process leases
LEASE_SECONDS = 10  # a lease aims to cover this long of the wallet's recent spend
IDLE_SECONDS = 10  # a lease unused this long is given back
RETRY_SECONDS = 1.0  # after a wallet could not fund a lease or a top-up
LONGEST_REQUEST_SECONDS = 900  # a reservation older than this belongs to no live request


def renew_every() -> float:
    return min(settings.HOLD_TTL_SECONDS / 3, 5)


class Leases:
    """The leases of this process, one per busy wallet; the per-request holds of its
    requests in flight; and the task that keeps both."""

    def __init__(self) -> None:
        # Keyed by organization id: one wallet per organization.
        self.by_org: dict[int, Lease] = {}
        self.activity: dict[
            int, list
        ] = {}  # organization → [window start, requests, largest worst]
        self.wanted: dict[int, tuple[Decimal, int]] = {}  # organization → (worst case, requests/s)
        self.retry_at: dict[int, float] = {}
        # A request's hold lives as long as the request holds it: a request that ends
        # any other way than through ``settle_locally`` (a crash in its view) drops out.
        # hold → [taken, last renewed] (monotonic seconds)
        self.holds: weakref.WeakKeyDictionary[Hold, list[float]] = weakref.WeakKeyDictionary()
        # Rows no request here runs against any more, still holding costs the drain has
        # not taken out: holds of ended requests, leases given back. pk → [taken, renewed]
        self.settling: dict[int, list[float]] = {}
        self.holds_lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task | None = None
        self.wake: asyncio.Event | None = None
        self.exit_hook = False
        # The upkeep runs in a thread of its own, not in the thread the request path's
        # database steps share: a burst of requests cannot delay a lease's renewal.
        self.executor: ThreadPoolExecutor | None = None

    # --- The request path (event loop, no I/O) ----------------------------------------------
    def take(self, org_id: int, amount: Decimal) -> Ticket | None:
        lease = self.by_org.get(org_id)
        if lease is None:
            self.note(org_id, amount)
            return None
        ticket = lease.take(amount)
        if ticket is None or lease.free < lease.low_water:
            self.poke()
        return ticket

    def note(self, org_id: int, amount: Decimal) -> None:
        """Count a wallet's priced requests; a busy one gets a lease in the background."""
        now = time.monotonic()
        seen = self.activity.get(org_id)
        if seen is None or now - seen[0] > 1.0:
            if len(self.activity) > 100_000:
                self.activity.clear()
            self.activity[org_id] = [now, 1, amount]
            return
        seen[1] += 1
        seen[2] = max(seen[2], amount)
        if seen[1] >= BUSY and org_id not in self.wanted and self.retry_at.get(org_id, 0.0) <= now:
            self.wanted[org_id] = (seen[2], seen[1])
            self.poke()

    def track(self, hold: Hold) -> None:
        """A request of this process holds ``hold`` until it ends: keep it alive."""
        now = time.monotonic()
        with self.holds_lock:
            self.holds[hold] = [now, now]
        self.poke(wake=False)

    def untrack(self, hold: Hold) -> None:
        """The request ended and its usage event is durable: the hold stays alive (while
        this process lives) until the drain settles it."""
        with self.holds_lock:
            times = self.holds.pop(hold, None)
            if times is not None:
                self.settling[hold.pk] = times

    def poke(self, *, wake: bool = True) -> None:
        """Wake the maintenance task (started on first use in this event loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self.loop is not loop or self.task is None or self.task.done():
            self.loop, self.wake = loop, asyncio.Event()
            self.task = loop.create_task(self.run())
        if wake:
            self.wake.set()

    def reclaim(self, org_id: int) -> bool:
        """The wallet cannot fund a request: give back what this process's lease of it
        has unused (sync thread). True when something went back."""
        lease = self.by_org.get(org_id)
        if lease is None or (lease.free <= 0 and not lease.closed):
            return False
        back = give_back(lease)  # waits for a give-back the upkeep thread has under way
        if self.by_org.get(org_id) is lease:
            self.by_org.pop(org_id, None)
        self.retire(lease)
        # Given back here, or by the upkeep a moment ago: either way it is in the wallet.
        return back > 0 or lease.closed

    # --- The maintenance task -------------------------------------------------------------
    def tick_seconds(self) -> float:
        return max(min(0.5, settings.HOLD_TTL_SECONDS / 6), 0.05)

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=self.tick_seconds())
            self.wake.clear()
            if not settings.FUNDS_LEASE_UPKEEP_THREAD:  # in-process tests: their transaction
                await sync_to_async(self.upkeep)()
                continue
            if self.executor is None:
                self.executor = ThreadPoolExecutor(1, thread_name_prefix="funds-leases")
            await asyncio.get_running_loop().run_in_executor(self.executor, self.upkeep)
            await asyncio.sleep(0.01)  # many pokes in a burst make one pass

    def upkeep(self) -> None:
        """One pass of ``maintain`` in the upkeep thread; a failed pass drops the thread's
        database connection (the next pass opens a new one) and the next tick tries
        again, while requests fall back to per-request holds."""
        try:
            self.maintain()
        except Exception:
            log.exception("funds lease maintenance failed")
            connections.close_all()
            return
        if not (self.by_org or self.wanted or self.holds or self.settling):
            connections.close_all()  # nothing to keep: no connection held while idle

    def maintain(self) -> None:
        """Take wanted leases, top up, renew, give back idle ones, and renew the holds
        of requests in flight (sync thread)."""
        if not self.exit_hook:
            atexit.register(self.give_all_back)
            self.exit_hook = True
        now = time.monotonic()
        for org_id, (worst, per_second) in list(self.wanted.items()):
            self.wanted.pop(org_id, None)
            if org_id not in self.by_org:
                lease = take_lease(org_id, worst, per_second)
                if lease is None:
                    self.retry_at[org_id] = now + RETRY_SECONDS
                else:
                    self.by_org[org_id] = lease
        for org_id, lease in list(self.by_org.items()):
            self.keep(org_id, lease, now)
        self.renew_request_holds(now)

    def keep(self, org_id: int, lease: Lease, now: float) -> None:
        lease.drop_stale_tickets(now, LONGEST_REQUEST_SECONDS)
        lease.sample_rate(now)
        target = lease.target(LEASE_SECONDS)
        lease.low_water = target / 2
        if now - lease.last_take > IDLE_SECONDS and not lease.tickets:
            self.drop(org_id, lease)
        elif lease.free < lease.low_water and now >= lease.retry_at:
            grown = top_up(lease, target - lease.free)
            if grown is None:  # the wallet is too small to lease now: per-request holds
                self.drop(org_id, lease)
            elif not grown:
                lease.retry_at = now + RETRY_SECONDS
                self.check_alive(org_id, lease)
        elif now - lease.renewed > renew_every():
            self.check_alive(org_id, lease)

    def drop(self, org_id: int, lease: Lease) -> None:
        # Listed until its funds are back, so a request that finds the wallet short meanwhile
        # waits for them (``reclaim``) instead of being refused.
        give_back(lease)
        if self.by_org.get(org_id) is lease:
            self.by_org.pop(org_id, None)
        self.retire(lease)

    def check_alive(self, org_id: int, lease: Lease) -> None:
        if not renew(lease):
            self.drop(org_id, lease)

    def renew_request_holds(self, now: float) -> None:
        """Renew the rows this process vouches for (in chunks), and forget the ones the
        drain has closed or that are older than the longest request."""
        every = renew_every()
        with self.holds_lock:
            rows = [(hold.pk, times) for hold, times in self.holds.items()]
            settling = list(self.settling.items())
        due = [
            (pk, times)
            for pk, times in rows + settling
            if now - times[1] >= every and now - times[0] < LONGEST_REQUEST_SECONDS
        ]
        open_ids: set[int] = set()
        for start in range(0, len(due), 500):
            open_ids |= renew_holds([pk for pk, _ in due[start : start + 500]])
        for _, times in due:
            times[1] = now
        closed = {pk for pk, _ in due} - open_ids
        with self.holds_lock:
            for pk, times in settling:
                if pk in closed or now - times[0] >= LONGEST_REQUEST_SECONDS:
                    self.settling.pop(pk, None)

    def retire(self, lease: Lease) -> None:
        """A lease given back may still hold costs not yet drained: keep it alive too."""
        now = time.monotonic()
        with self.holds_lock:
            self.settling[lease.pk] = [now, now]

    def give_all_back(self) -> None:
        """At exit: every unused lease back to its wallet."""
        for org_id, lease in list(self.by_org.items()):
            self.by_org.pop(org_id, None)
            try:
                give_back(lease)
            except Exception:
                log.exception("could not give back funds lease %s", lease.pk)


leases = Leases()


# --- Admission's reservation -------------------------------------------------------------------
async def reserve(
    org_id: int,
    request_id: str,
    amount: Decimal,
    *,
    caps: Caps | None = None,
) -> Hold | Ticket | None:
    """Reserve a request's worst case from the organization's wallet: from this process's
    lease of the wallet when it has one (no I/O), else a per-request hold (one conditional
    UPDATE). A capped request (project budget, member cap, key caps) always holds."""
    if amount <= 0:
        return None
    capped = caps is not None and caps.capped
    if settings.FUNDS_LEASES and not capped:
        ticket = leases.take(org_id, amount)
        if ticket is not None:
            return ticket

    def hold() -> Hold | None:
        try:
            return reserve_funds(org_id, request_id, amount, caps=caps)
        except BillingError as exc:
            # The wallet's last funds may sit unused in this process's lease of it.
            if exc.code != "insufficient_balance" or not leases.reclaim(org_id):
                raise
        return reserve_funds(org_id, request_id, amount, caps=caps)

    held = await sync_to_async(hold)()
    if held is not None:
        leases.track(held)
    return held


def settle_part(reservation: Hold | Ticket | None, event: UsageEvent) -> None:
    """A part of a request that is charged on a usage event of its own while the request
    runs (a Responses ``file_search`` search). Under a lease the event names the lease,
    so the drain takes its cost out of the lease row, and the lease counts it as spent,
    so what the lease admits next leaves room for it. A per-request hold needs nothing:
    it covers the part until the request's own event closes it."""
    if isinstance(reservation, Ticket) and event.cost_usd:
        event.lease_id = reservation.lease_id
        reservation.lease.spend(event.cost_usd)


def settle_locally(reservation: Hold | Ticket | None, event: UsageEvent) -> None:
    """The request ended: a lease ticket takes the actual cost in place of the worst
    case, and the usage event names the lease so the drain lowers it by that cost. A
    per-request hold is no longer renewed; the drain settles it."""
    if isinstance(reservation, Ticket):
        event.lease_id = reservation.lease_id
        reservation.lease.finish(reservation, event.cost_usd)
    elif isinstance(reservation, Hold):
        leases.untrack(reservation)
