"""Redemption codes: batches an admin issues, each code credited once, ever."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from billing.errors import BillingError
from billing.ledger import post_entry
from billing.models import LedgerEntry, RedemptionBatch, RedemptionCode
from billing.wallets import current_organization_id

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


def redeem_code(
    user, raw_code: str, *, ip: str | None = None, organization_id: int | None = None
) -> Redeemed:
    """Credit a redemption code's amount to the wallet of ``organization_id`` (``user``'s
    current organization when not given), once ever; ``BillingError`` otherwise. The
    ledger entry names ``user`` as its actor.

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
        return take_code(
            user,
            raw_code,
            organization_id if organization_id is not None else current_organization_id(user),
        )
    except BillingError:
        for key in keys:
            cache.add(key, 0, timeout=3600)  # the hour starts at the first failure
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=3600)
        raise


def take_code(user, raw_code: str, organization_id: int) -> Redeemed:
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
            organization_id,
            code.batch.amount_usd,
            LedgerEntry.Kind.REDEMPTION,
            f"redeem:{canonical}",
            description=f"Redemption code {canonical}",
            actor=user,
        )
    return Redeemed(code=canonical, amount=code.batch.amount_usd, entry=posted.entry)
