"""Money flows. Every change of a balance is a ledger row written in the same
transaction, under a row lock on the wallet; holds reserve worst-case costs."""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from billing import checkout
from billing.models import Hold, LedgerEntry, RedemptionBatch, RedemptionCode, Wallet

log = logging.getLogger(__name__)
ZERO = Decimal(0)


class BillingError(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def money(value: Decimal) -> str:
    """A decimal string without exponent or trailing zeros: '4.99998', '0', '12.5'."""
    text = format(value.normalize(), "f") if value else "0"
    return text


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
) -> Posted:
    """Append one ledger entry and move the cached balance with it; idempotent by key."""
    with transaction.atomic():
        existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return Posted(existing, False)
        wallet = locked_wallet(user_id)
        if not allow_negative and amount < 0 and wallet.balance_usd - wallet.held_usd + amount < 0:
            raise BillingError(
                f"A debit of {money(-amount)} USD is larger than the available balance of "
                f"{money(wallet.available_usd)} USD.",
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
            actor=actor,
            request_id=request_id,
        )
        update_low_balance_state(wallet)
        wallet.save(update_fields=["balance_usd", "low_balance_notified", "updated_at"])
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
    user_id: int, amount: Decimal, *, reason: str, actor, idempotency_key: str | None = None
) -> Posted:
    """An admin's recharge (positive) or deduction (negative); a deduction may not exceed what is available."""
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
        description=reason.strip(),
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
        taken = Wallet.objects.filter(
            user_id=user_id, balance_usd__gte=F("held_usd") + amount
        ).update(held_usd=F("held_usd") + amount, updated_at=timezone.now())
        if not taken:
            wallet = ensure_wallet(user_id)
            raise BillingError(
                f"Insufficient balance: this request may cost up to {money(amount)} USD but your available "
                f"balance is {money(wallet.available_usd)} USD. Top up your wallet to continue.",
                "insufficient_balance",
            )
        return Hold.objects.create(
            wallet_id=wallet_id_of(user_id),
            api_key_id=api_key_id,
            request_id=request_id,
            amount_usd=amount,
            expires_at=timezone.now() + hold_ttl(),
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
    from gateway.models import ApiKey, UsageRollup

    # One key's reservations queue here so two requests cannot both fit the last cents.
    ApiKey.objects.select_for_update().filter(pk=api_key_id).first()
    now = timezone.now()
    starts = {
        "daily": now.replace(hour=0, minute=0, second=0, microsecond=0),
        "monthly": now.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
        "total": None,
    }
    held = (
        Hold.objects.filter(api_key_id=api_key_id, status=Hold.Status.OPEN).aggregate(
            s=Sum("amount_usd")
        )["s"]
        or ZERO
    )
    for period, budget in budgets.items():
        if budget is None:
            continue
        spent_rows = UsageRollup.objects.filter(api_key_id=api_key_id)
        if starts[period] is not None:
            spent_rows = spent_rows.filter(hour__gte=starts[period])
        spent = spent_rows.aggregate(s=Sum("cost_usd"))["s"] or ZERO
        if spent + held + amount > budget:
            raise BillingError(
                f"This API key's {period} budget of {money(budget)} USD would be exceeded "
                f"(spent {money(spent)} USD, {money(held)} USD in flight).",
                "key_budget_exceeded",
            )


def settle_usage_events(events: list[dict]) -> None:
    """Charge each newly recorded request once and close its hold (runs inside the drain's transaction)."""
    by_user: dict[int, list[dict]] = {}
    for event in events:
        by_user.setdefault(event["user_id"], []).append(event)
    request_ids = [e["request_id"] for e in events]
    holds = {
        h.request_id: h for h in Hold.objects.select_for_update().filter(request_id__in=request_ids)
    }
    now = timezone.now()
    for user_id in sorted(by_user):
        wallet = locked_wallet(user_id)
        entries = []
        for event in by_user[user_id]:
            cost = Decimal(event.get("cost_usd") or "0")
            hold = holds.get(event["request_id"])
            if hold is not None and hold.status == Hold.Status.OPEN:
                wallet.held_usd -= hold.amount_usd
                hold.status = Hold.Status.SETTLED if cost else Hold.Status.RELEASED
                hold.closed_at = now
            if cost:
                wallet.balance_usd -= cost
                entries.append(
                    LedgerEntry(
                        wallet=wallet,
                        kind=LedgerEntry.Kind.USAGE,
                        amount_usd=-cost,
                        balance_after_usd=wallet.balance_usd,
                        idempotency_key=f"usage:{event['request_id']}",
                        description=f"{event.get('model', '')} ({event.get('source', 'api_key')})"[
                            :300
                        ],
                        request_id=event["request_id"],
                    )
                )
        LedgerEntry.objects.bulk_create(entries)
        update_low_balance_state(wallet)
        wallet.save(update_fields=["balance_usd", "held_usd", "low_balance_notified", "updated_at"])
    Hold.objects.bulk_update(
        [h for h in holds.values() if h.closed_at == now], ["status", "closed_at"]
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


def release_expired_holds() -> int:
    """Holds left behind by a crashed process: released after ``HOLD_TTL_SECONDS``."""
    released = 0
    expired = list(
        Hold.objects.filter(status=Hold.Status.OPEN, expires_at__lt=timezone.now()).values_list(
            "request_id", flat=True
        )[:1000]
    )
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
        stdout.write(f"Granted {money(settings.DEMO_CREDIT_USD)} USD demo credit to {demo.email}")


def wallet_summary(user_id: int) -> dict:
    wallet = ensure_wallet(user_id)
    return {
        "balance_usd": money(wallet.balance_usd),
        "held_usd": money(wallet.held_usd),
        "available_usd": money(wallet.available_usd),
        "currency": wallet.currency,
    }


def ledger_balance(user_id: int) -> Decimal:
    return (
        LedgerEntry.objects.filter(wallet__user_id=user_id).aggregate(s=Sum("amount_usd"))["s"]
        or ZERO
    )


@dataclass(frozen=True)
class LedgerPage:
    entries: list[LedgerEntry]
    newer: int | None  # pass as ``after`` for the newer page
    older: int | None  # pass as ``before`` for the older page


def ledger_page(
    user_id: int, *, before: int | None = None, after: int | None = None, size: int = 25
) -> LedgerPage:
    """One page of a wallet's ledger, newest first, by id cursor (no COUNT on big ledgers)."""
    rows = LedgerEntry.objects.filter(wallet__user_id=user_id).select_related("actor")
    if after is not None:
        entries = list(rows.filter(pk__gt=after).order_by("pk")[: size + 1])
        has_newer = len(entries) > size
        entries = entries[:size][::-1]
        has_older = bool(entries) and rows.filter(pk__lt=entries[-1].pk).exists()
    else:
        if before is not None:
            rows = rows.filter(pk__lt=before)
        entries = list(rows.order_by("-pk")[: size + 1])
        has_older = len(entries) > size
        entries = entries[:size]
        has_newer = before is not None and bool(entries)
    return LedgerPage(
        entries=entries,
        newer=entries[0].pk if has_newer else None,
        older=entries[-1].pk if has_older else None,
    )


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


# --- Card top-ups (Stripe Checkout) -----------------------------------------------------------------
# Both are "the customer has paid": a card pays at once (completed, paid); a delayed
# method completes unpaid and succeeds later. Only a paid session is ever credited.
CREDITING_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}


def check_topup_amount(amount: Decimal) -> None:
    low, high = settings.TOPUP_MIN_USD, settings.TOPUP_MAX_USD
    if not amount.is_finite() or amount != amount.quantize(checkout.CENT):
        raise BillingError("Enter an amount in dollars and cents.", "invalid_amount")
    if not low <= amount <= high:
        raise BillingError(
            f"Top-ups must be between ${money(low)} and ${money(high)}.", "invalid_amount"
        )


def start_checkout(user, amount: Decimal, *, success_url: str, cancel_url: str) -> str:
    """Create a Stripe Checkout Session and return the URL to send the user to.

    Nothing is credited here: only Stripe's signed webhook credits the wallet.
    """
    if not checkout.is_configured():
        raise BillingError("Card payments are not available on this Portico.", "not_configured")
    check_topup_amount(amount)
    try:
        session = checkout.create_checkout_session(
            amount=amount,
            user_id=user.pk,
            email=user.email,
            success_url=success_url,
            cancel_url=cancel_url,
            idempotency_key=f"portico-checkout-{uuid.uuid4().hex}",
        )
    except checkout.StripeError as exc:
        log.warning("Stripe Checkout for user %s failed: %s", user.pk, exc.message)
        raise BillingError(exc.message, "stripe_error") from None
    log.info("Stripe Checkout %s started: user %s, %s USD", session.id, user.pk, amount)
    return session.url


def handle_stripe_event(event: dict) -> str:
    """Credit a paid Checkout Session, once per event id; returns the outcome for the log.

    The amount credited is what Stripe reports as paid (``amount_total``, in cents), not
    what was asked for. Events Portico cannot credit are acknowledged (a retry would not
    help) and logged for an operator.
    """
    event_id, event_type = str(event.get("id") or ""), event.get("type")
    if event_type not in CREDITING_EVENTS or not event_id:
        return "ignored: not a payment event"
    session = (event.get("data") or {}).get("object") or {}
    if session.get("payment_status") != "paid":
        return "ignored: not paid yet"
    amount_total, currency = session.get("amount_total"), str(session.get("currency") or "")
    user_id = str((session.get("metadata") or {}).get("user_id") or "")
    problem = ""
    if currency.lower() != "usd":
        problem = f"currency {currency!r} is not USD"
    elif not isinstance(amount_total, int) or isinstance(amount_total, bool) or amount_total <= 0:
        problem = f"amount_total {amount_total!r} is not a positive number of cents"
    elif not user_id.isdigit() or not get_user_model().objects.filter(pk=int(user_id)).exists():
        problem = f"user {user_id!r} is unknown"
    if problem:
        log.error("Stripe event %s (%s) NOT credited: %s", event_id, session.get("id"), problem)
        return f"ignored: {problem}"
    amount = checkout.from_cents(amount_total)
    posted = credit(
        int(user_id),
        amount,
        kind=LedgerEntry.Kind.TOPUP,
        idempotency_key=f"stripe:{event_id}",
        description=f"Card top-up (Stripe {session.get('id', '')})",
    )
    if not posted.created:
        return "duplicate: already credited"
    log.info("Stripe event %s credited %s USD to user %s", event_id, amount, user_id)
    return "credited"


# --- Redemption codes --------------------------------------------------------------------------------
# No 0/O, 1/I/L or U/V look-alikes: a code read aloud or off paper is typed right.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
CODE_PREFIX = "PORT"
CODE_LENGTH = 12
MAX_BATCH_SIZE = 10_000


def new_code() -> str:
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{CODE_PREFIX}-{body[:4]}-{body[4:8]}-{body[8:]}"


def normalize_code(raw: str) -> str | None:
    """``port xxxx xxxx xxxx``, ``xxxxxxxxxxxx``, … → ``PORT-XXXX-XXXX-XXXX``, or None."""
    text = re.sub(r"[^0-9A-Za-z]", "", raw or "").upper()
    if text.startswith(CODE_PREFIX):
        text = text[len(CODE_PREFIX) :]
    if len(text) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in text):
        return None
    return f"{CODE_PREFIX}-{text[:4]}-{text[4:8]}-{text[8:]}"


def create_redemption_batch(batch: RedemptionBatch) -> RedemptionBatch:
    """Save a new (unsaved) batch and generate its ``count`` unique codes, all or nothing."""
    if batch.pk is not None:
        raise ValueError("create_redemption_batch takes a new batch")
    if batch.amount_usd is None or batch.amount_usd <= 0:
        raise BillingError("Each code must be worth a positive amount.", "invalid_amount")
    if not 1 <= (batch.count or 0) <= MAX_BATCH_SIZE:
        raise BillingError(f"A batch holds 1 to {MAX_BATCH_SIZE} codes.", "invalid_count")
    with transaction.atomic():
        batch.save()
        codes: set[str] = set()
        while len(codes) < batch.count:
            fresh = {new_code() for _ in range(batch.count - len(codes))} - codes
            taken: set[str] = set()
            chunk = sorted(fresh)
            for start in range(0, len(chunk), 500):
                taken.update(
                    RedemptionCode.objects.filter(code__in=chunk[start : start + 500]).values_list(
                        "code", flat=True
                    )
                )
            codes |= fresh - taken
        RedemptionCode.objects.bulk_create(
            [RedemptionCode(batch=batch, code=code) for code in codes], batch_size=500
        )
    return batch


@dataclass(frozen=True)
class Redeemed:
    code: str
    amount: Decimal
    entry: LedgerEntry


def redeem_failure_keys(user_id: int, ip: str | None) -> list[str]:
    keys = [f"billing:redeem-failures:user:{user_id}"]
    if ip:
        keys.append(f"billing:redeem-failures:ip:{ip}")
    return keys


def redeem_code(user, raw_code: str, *, ip: str | None = None) -> Redeemed:
    """Credit a redemption code's amount to ``user``, once ever; ``BillingError`` otherwise.

    Wrong, used and expired attempts count against the user and the IP address: past
    ``REDEEM_FAILURES_PER_HOUR`` of them, every attempt is refused for the hour.
    """
    keys = redeem_failure_keys(user.pk, ip)
    limit = settings.REDEEM_FAILURES_PER_HOUR
    if any((cache.get(key) or 0) >= limit for key in keys):
        raise BillingError(
            "Too many wrong codes. For your account's safety, try again in an hour.",
            "rate_limited",
        )
    try:
        return take_code(user, raw_code)
    except BillingError:
        for key in keys:
            cache.add(key, 0, timeout=3600)  # the hour starts at the first failure
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=3600)
        raise


def take_code(user, raw_code: str) -> Redeemed:
    canonical = normalize_code(raw_code)
    if canonical is None:
        raise BillingError(
            "That is not a redemption code: codes look like PORT-XXXX-XXXX-XXXX.", "invalid_code"
        )
    now = timezone.now()
    with transaction.atomic():
        code = (
            RedemptionCode.objects.select_for_update(of=("self",))
            .select_related("batch")
            .filter(code=canonical)
            .first()
        )
        if code is None:
            raise BillingError(
                f"{canonical} is not a valid code. Check it for typos.", "invalid_code"
            )
        if code.redeemed_at is not None:
            who = "You have" if code.redeemed_by_id == user.pk else "Someone has"
            raise BillingError(f"{who} already redeemed {canonical}.", "code_used")
        expires_at = code.batch.expires_at
        if expires_at is not None and expires_at <= now:
            raise BillingError(
                f"{canonical} expired on {expires_at:%Y-%m-%d %H:%M} UTC.", "code_expired"
            )
        # The conditional UPDATE is the guard where SELECT … FOR UPDATE is a no-op (SQLite).
        if not RedemptionCode.objects.filter(pk=code.pk, redeemed_at__isnull=True).update(
            redeemed_by=user, redeemed_at=now
        ):
            raise BillingError(f"Someone has already redeemed {canonical}.", "code_used")
        posted = post_entry(
            user.pk,
            code.batch.amount_usd,
            LedgerEntry.Kind.REDEMPTION,
            f"redeem:{canonical}",
            description=f"Redemption code {canonical}",
        )
    return Redeemed(code=canonical, amount=code.batch.amount_usd, entry=posted.entry)
