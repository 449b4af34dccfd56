"""Money flows. Every change of a balance is a ledger row written in the same
transaction, under a row lock on the wallet; holds reserve worst-case costs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import TruncDay
from django.template.defaultfilters import pluralize
from django.utils import timezone

from accounts.models import ApiKey
from billing.models import Hold, LedgerEntry, Wallet
from ground.errors import ApiError
from ground.money import MAX_AMOUNT, format_cost, format_usd, money_value, plain
from usage.events import UsageEvent
from usage.models import UsageRollup

log = logging.getLogger(__name__)
ZERO = Decimal(0)


class BillingError(ApiError):
    """A billing refusal that knows its wire form: 402 for money, else the status given."""

    def __init__(self, message: str, code: str, status: int = 402) -> None:
        super().__init__(status, message, code=code)


def ensure_wallet(user_id: int) -> Wallet:
    wallet, _ = Wallet.objects.get_or_create(user_id=user_id)
    return wallet


def locked_wallet(user_id: int) -> Wallet:
    ensure_wallet(user_id)
    return Wallet.objects.select_for_update().get(user_id=user_id)


@dataclass(frozen=True)
class Posted:
    entry: LedgerEntry
    created: bool


def post_entry(
    user_id: int,
    amount: Decimal,
    kind: str,
    idempotency_key: str,
    *,
    description: str = "",
    actor=None,
    request_id: str = "",
    allow_negative: bool = True,
    staff_note: str = "",
) -> Posted:
    """Append one ledger entry and move the cached balance with it; idempotent by key."""
    with transaction.atomic():
        existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return Posted(existing, False)
        wallet = locked_wallet(user_id)
        if abs(wallet.balance_usd + amount) > MAX_AMOUNT:
            raise BillingError(
                f"A balance of {format_usd(wallet.balance_usd + amount)} is more than a wallet "
                f"holds (at most {format_usd(MAX_AMOUNT)}).",
                "amount_too_large",
                status=400,
            )
        if not allow_negative and amount < 0 and wallet.balance_usd - wallet.held_usd + amount < 0:
            raise BillingError(
                f"A debit of {format_cost(-amount)} is larger than the available balance of "
                f"{format_cost(wallet.available_usd)}.",
                "insufficient_balance",
            )
        wallet.balance_usd += amount
        entry = LedgerEntry.objects.create(
            wallet=wallet,
            kind=kind,
            amount_usd=amount,
            balance_after_usd=wallet.balance_usd,
            idempotency_key=idempotency_key,
            description=description[:300],
            staff_note=staff_note[:300],
            actor=actor,
            request_id=request_id,
        )
        if amount > 0 and wallet.unpaid_usd > 0:
            collect_unpaid(wallet, entry)
        update_low_balance_state(wallet)
        wallet.save(
            update_fields=["balance_usd", "unpaid_usd", "low_balance_notified", "updated_at"]
        )
    return Posted(entry, True)


def credit(
    user_id: int,
    amount: Decimal,
    *,
    kind: str,
    idempotency_key: str,
    description: str = "",
    actor=None,
) -> Posted:
    if amount <= 0:
        raise BillingError("A credit must be a positive amount.", "invalid_amount")
    return post_entry(user_id, amount, kind, idempotency_key, description=description, actor=actor)


def admin_adjust(
    user_id: int,
    amount: Decimal,
    *,
    reason: str,
    actor,
    idempotency_key: str | None = None,
    note: str = "",
) -> Posted:
    """An admin's recharge (positive) or deduction (negative); a deduction may not exceed
    what is available. ``reason`` is the staff-only note (required); ``note`` is what the
    owner reads in their ledger (optional)."""
    if not reason.strip():
        raise BillingError("A reason is required for every adjustment.", "reason_required")
    if amount == 0:
        raise BillingError("The amount must not be zero.", "invalid_amount")
    key = (
        idempotency_key
        or f"adjust:{user_id}:{timezone.now().timestamp()}:{getattr(actor, 'pk', 'cli')}"
    )
    return post_entry(
        user_id,
        amount,
        LedgerEntry.Kind.ADJUSTMENT,
        key,
        description=note.strip(),
        staff_note=reason.strip(),
        actor=actor,
        allow_negative=False,
    )


# --- Reserve → settle ------------------------------------------------------------------------------
def hold_ttl() -> timedelta:
    return timedelta(seconds=settings.HOLD_TTL_SECONDS)


def reserve_funds(
    user_id: int,
    request_id: str,
    amount: Decimal,
    *,
    api_key_id: int | None = None,
    budgets: dict[str, Decimal | None] | None = None,
) -> Hold | None:
    """Hold ``amount`` for a request, or raise ``BillingError`` (402) before any upstream call.

    One conditional UPDATE takes the funds only if ``balance − held`` covers them, so
    concurrent requests can never spend money the wallet does not have.
    """
    if amount <= 0:
        return None
    with transaction.atomic():
        if budgets and api_key_id and any(v is not None for v in budgets.values()):
            check_key_budgets(api_key_id, amount, budgets)
        taken = hold_from_wallet(user_id, amount)
        # Holds a killed process left behind stop counting once expired: before a refusal,
        # not only when the periodic task next runs.
        if not taken and release_expired_holds(Q(wallet__user_id=user_id)):
            taken = hold_from_wallet(user_id, amount)
        if not taken:
            wallet = ensure_wallet(user_id)
            if wallet.unpaid_usd > 0:
                raise BillingError(
                    f"Earlier requests cost {format_cost(wallet.unpaid_usd)} more than your "
                    "balance could cover. Top up your wallet to pay it and continue.",
                    "unpaid_usage",
                )
            raise BillingError(
                f"Insufficient balance: this request may cost up to {format_cost(amount)} but your available "
                f"balance is {format_cost(wallet.available_usd)}. Top up your wallet to continue.",
                "insufficient_balance",
            )
        return Hold.objects.create(
            wallet_id=wallet_id_of(user_id),
            api_key_id=api_key_id,
            request_id=request_id,
            amount_usd=amount,
            expires_at=timezone.now() + hold_ttl(),
        )


def hold_from_wallet(user_id: int, amount: Decimal) -> bool:
    """One conditional UPDATE: hold ``amount`` only if ``balance − held`` covers it."""
    return bool(
        Wallet.objects.filter(
            user_id=user_id, unpaid_usd=0, balance_usd__gte=F("held_usd") + money_value(amount)
        ).update(held_usd=F("held_usd") + money_value(amount), updated_at=timezone.now())
    )


_wallet_ids: dict[int, int] = {}


def wallet_id_of(user_id: int) -> int:
    """A user's wallet id never changes once the wallet exists: remembered per process."""
    wallet_id = _wallet_ids.get(user_id)
    if wallet_id is None:
        wallet_id = _wallet_ids[user_id] = Wallet.objects.values_list("pk", flat=True).get(
            user_id=user_id
        )
    return wallet_id


def check_key_budgets(api_key_id: int, amount: Decimal, budgets: dict[str, Decimal | None]) -> None:

    # One key's reservations queue here so two requests cannot both fit the last cents.
    ApiKey.objects.select_for_update().filter(pk=api_key_id).first()
    now = timezone.now()
    starts = {
        "daily": now.replace(hour=0, minute=0, second=0, microsecond=0),
        "monthly": now.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
        "total": None,
    }
    held = key_holds(api_key_id)
    if held and release_expired_holds(Q(api_key_id=api_key_id)):
        held = key_holds(api_key_id)  # a killed process's holds of this key expired
    for period, budget in budgets.items():
        if budget is None:
            continue
        spent_rows = UsageRollup.objects.filter(api_key_id=api_key_id)
        if starts[period] is not None:
            spent_rows = spent_rows.filter(hour__gte=starts[period])
        spent = spent_rows.aggregate(s=Sum("cost_usd"))["s"] or ZERO
        if spent + held + amount > budget:
            raise BillingError(
                f"This API key's {period} budget of {format_cost(budget)} would be exceeded "
                f"(spent {format_cost(spent)}, {format_cost(held)} in flight).",
                "key_budget_exceeded",
            )


def key_holds(api_key_id: int) -> Decimal:
    return (
        Hold.objects.filter(api_key_id=api_key_id, status=Hold.Status.OPEN).aggregate(
            s=Sum("amount_usd")
        )["s"]
        or ZERO
    )


def settle_usage_events(events: list[UsageEvent]) -> None:
    """Charge each newly recorded request once and close its hold (runs inside the drain's transaction)."""
    by_user: dict[int, list[UsageEvent]] = {}
    for event in events:
        by_user.setdefault(event.user_id, []).append(event)
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
    for user_id in sorted(by_user):
        wallet = locked_wallet(user_id)
        entries = []
        for event in by_user[user_id]:
            cost = event.cost_usd
            hold = holds.get(event.request_id)
            if hold is not None and hold.status == Hold.Status.OPEN:
                wallet.held_usd -= hold.amount_usd
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
            "Request %s cost %s but the wallet of user %s covered only %s; %s unpaid",
            event.request_id,
            cost,
            wallet.user_id,
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


def collect_unpaid(wallet: Wallet, after: LedgerEntry) -> None:
    """After a credit, pay what earlier usage left unpaid (under the wallet's row lock)."""
    collected = min(wallet.unpaid_usd, max(wallet.balance_usd, ZERO))
    if collected <= 0:
        return
    wallet.balance_usd -= collected
    wallet.unpaid_usd -= collected
    LedgerEntry.objects.create(
        wallet=wallet,
        kind=LedgerEntry.Kind.USAGE,
        amount_usd=-collected,
        balance_after_usd=wallet.balance_usd,
        idempotency_key=f"unpaid:{after.idempotency_key}",
        description="Usage billed beyond its hold, paid from this credit",
    )


def release_hold(request_id: str) -> bool:
    """Give back a hold whose request never reached a provider."""
    with transaction.atomic():
        hold = (
            Hold.objects.select_for_update()
            .filter(request_id=request_id, status=Hold.Status.OPEN)
            .first()
        )
        if hold is None:
            return False
        wallet = Wallet.objects.select_for_update().get(pk=hold.wallet_id)
        wallet.held_usd -= hold.amount_usd
        wallet.save(update_fields=["held_usd", "updated_at"])
        hold.status, hold.closed_at = Hold.Status.RELEASED, timezone.now()
        hold.save(update_fields=["status", "closed_at"])
    return True


def release_expired_holds(among: Q | None = None) -> int:
    """Holds left behind by a killed process (no longer renewed): released once expired,
    at most ``HOLD_TTL_SECONDS`` after the process died. ``among`` narrows the search
    (one wallet's or one key's holds, before a refusal)."""
    released = 0
    expired = Hold.objects.filter(status=Hold.Status.OPEN, expires_at__lt=timezone.now())
    if among is not None:
        expired = expired.filter(among)
    expired = list(expired.values_list("request_id", flat=True)[:1000])
    for request_id in expired:
        with transaction.atomic():
            hold = (
                Hold.objects.select_for_update()
                .filter(request_id=request_id, status=Hold.Status.OPEN)
                .first()
            )
            if hold is None:
                continue
            wallet = Wallet.objects.select_for_update().get(pk=hold.wallet_id)
            wallet.held_usd -= hold.amount_usd
            wallet.save(update_fields=["held_usd", "updated_at"])
            hold.status, hold.closed_at = Hold.Status.EXPIRED, timezone.now()
            hold.save(update_fields=["status", "closed_at"])
            released += 1
    return released


# --- Low balance -----------------------------------------------------------------------------------
def update_low_balance_state(wallet: Wallet) -> None:
    """Mail once per crossing below the user's threshold; re-arm when the balance recovers."""
    threshold = wallet.low_balance_threshold_usd
    if threshold is None:
        return
    if wallet.balance_usd < threshold and not wallet.low_balance_notified:
        wallet.low_balance_notified = True
        from billing.tasks import send_low_balance_email

        send_low_balance_email.delay_on_commit(wallet.user_id)
    elif wallet.balance_usd >= threshold and wallet.low_balance_notified:
        wallet.low_balance_notified = False


def grant_demo_credit(*, admin=None, demo=None, stdout=None) -> None:
    """``manage.py bootstrap``: the demo user's starting credit, granted once."""
    if demo is None or settings.DEMO_CREDIT_USD <= 0:
        return
    posted = credit(
        demo.pk,
        settings.DEMO_CREDIT_USD,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        idempotency_key=f"demo-credit:{demo.pk}",
        description="Demo credit",
        actor=admin,
    )
    if posted.created and stdout is not None:
        stdout.write(f"Granted {format_usd(settings.DEMO_CREDIT_USD)} demo credit to {demo.email}")


def grant_signup_credit(user_id: int) -> Posted | None:
    """A new account's starting credit (``SIGNUP_CREDIT_USD``): once per user, ever.

    Called when the account's e-mail address is verified (or at sign-up when
    verification is off); the idempotency key makes a second call a no-op.
    """
    amount = settings.SIGNUP_CREDIT_USD
    if amount <= 0:
        return None
    return credit(
        user_id,
        amount,
        kind=LedgerEntry.Kind.SIGNUP,
        idempotency_key=f"signup-credit:{user_id}",
        description=f"Welcome to {settings.SITE_NAME}",
    )


def wallet_summary(user_id: int) -> dict:
    wallet = ensure_wallet(user_id)
    return {
        "balance_usd": plain(wallet.balance_usd),
        "held_usd": plain(wallet.held_usd),
        "available_usd": plain(wallet.available_usd),
        "unpaid_usd": plain(wallet.unpaid_usd),
        "currency": wallet.currency,
    }


def ledger_balance(user_id: int) -> Decimal:
    return (
        LedgerEntry.objects.filter(wallet__user_id=user_id).aggregate(s=Sum("amount_usd"))["s"]
        or ZERO
    )


@dataclass(frozen=True)
class UsageDay:
    """One UTC day's per-request usage charges of a wallet, summed (a ledger page line)."""

    pk: int  # the day's newest entry: where the line sits in the ledger and its cursor
    day: date
    requests: int
    amount_usd: Decimal
    balance_after_usd: Decimal
    created_at: datetime  # the newest charge of the day
    kind: str = LedgerEntry.Kind.USAGE
    request_id: str = ""

    @property
    def description(self) -> str:
        return f"Usage on {self.day:%Y-%m-%d} — {self.requests:,} request{pluralize(self.requests)}"

    @property
    def detail(self) -> str:  # as ``LedgerEntry.detail``: what the ledger page shows
        return self.description

    def get_kind_display(self) -> str:
        return LedgerEntry.Kind.USAGE.label


@dataclass(frozen=True)
class LedgerPage:
    entries: list[LedgerEntry | UsageDay]
    newer: int | None  # pass as ``after`` for the newer page
    older: int | None  # pass as ``before`` for the older page


def per_request_charges() -> Q:
    # Charges of collected unpaid usage carry no request id: they stay lines of their own.
    return Q(kind=LedgerEntry.Kind.USAGE) & ~Q(request_id="")


def ledger_page(
    user_id: int, *, before: int | None = None, after: int | None = None, size: int = 25
) -> LedgerPage:
    """One page of a wallet's ledger, newest first, by id cursor (no COUNT on big ledgers).

    Per-request usage charges are summed per UTC day into one line (``UsageDay``), placed
    at the day's newest charge; credits and other entries are lines of their own. The
    grouping happens in the query: the ledger itself keeps one exact row per charge.
    """
    rows = LedgerEntry.objects.filter(wallet__user_id=user_id)
    singles = rows.exclude(per_request_charges()).select_related("actor")
    days = (
        rows.filter(per_request_charges())
        .annotate(day=TruncDay("created_at"))
        .values("day")
        .annotate(
            last=Max("pk"), last_at=Max("created_at"), requests=Count("pk"), total=Sum("amount_usd")
        )
    )
    if after is not None:
        lines = merge(
            list(singles.filter(pk__gt=after).order_by("pk")[: size + 1]),
            list(days.filter(last__gt=after).order_by("last")[: size + 1]),
            newest_first=False,
        )
        has_newer = len(lines) > size
        lines = lines[:size][::-1]
        has_older = bool(lines) and (
            singles.filter(pk__lt=lines[-1].pk).exists()
            or days.filter(last__lt=lines[-1].pk).exists()
        )
    else:
        if before is not None:
            singles, days = singles.filter(pk__lt=before), days.filter(last__lt=before)
        lines = merge(
            list(singles.order_by("-pk")[: size + 1]),
            list(days.order_by("-last")[: size + 1]),
            newest_first=True,
        )
        has_older = len(lines) > size
        lines = lines[:size]
        has_newer = before is not None and bool(lines)
    return LedgerPage(
        entries=with_day_balances(lines),
        newer=lines[0].pk if has_newer else None,
        older=lines[-1].pk if has_older else None,
    )


def merge(singles: list[LedgerEntry], days: list[dict], *, newest_first: bool) -> list:
    lines = singles + [
        UsageDay(
            pk=row["last"],
            day=row["day"].astimezone(UTC).date(),
            requests=row["requests"],
            amount_usd=row["total"],
            balance_after_usd=ZERO,  # filled in by with_day_balances for the lines shown
            created_at=row["last_at"],
        )
        for row in days
    ]
    return sorted(lines, key=lambda line: line.pk, reverse=newest_first)


def with_day_balances(lines: list) -> list:
    """A day's balance after is the balance after its newest charge."""
    last_ids = [line.pk for line in lines if isinstance(line, UsageDay)]
    balances = dict(
        LedgerEntry.objects.filter(pk__in=last_ids).values_list("pk", "balance_after_usd")
    )
    return [
        replace(line, balance_after_usd=balances[line.pk]) if isinstance(line, UsageDay) else line
        for line in lines
    ]


def set_low_balance_threshold(user_id: int, threshold: Decimal | None) -> Wallet:
    """``None`` turns the low-balance e-mail off.

    A balance already below the new threshold counts as known (the user is looking at
    it): no mail now, one at the next crossing after the balance recovers.
    """
    if threshold is not None and threshold < 0:
        raise BillingError("The threshold cannot be negative.", "invalid_amount")
    with transaction.atomic():
        wallet = locked_wallet(user_id)
        wallet.low_balance_threshold_usd = threshold
        wallet.low_balance_notified = threshold is not None and wallet.balance_usd < threshold
        wallet.save(
            update_fields=["low_balance_threshold_usd", "low_balance_notified", "updated_at"]
        )
    return wallet
