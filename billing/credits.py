"""Putting money in and taking it out by hand: credits, an admin's adjustments, and the
demo and sign-up credits granted once."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from accounts.organizations import personal_organization
from billing.errors import BillingError
from billing.ledger import Posted, post_entry
from billing.models import LedgerEntry
from ground.money import format_usd


def credit(
    organization_id: int,
    amount: Decimal,
    *,
    kind: str,
    idempotency_key: str,
    description: str = "",
    actor=None,
) -> Posted:
    if amount <= 0:
        raise BillingError("A credit must be a positive amount.", "invalid_amount")
    return post_entry(
        organization_id, amount, kind, idempotency_key, description=description, actor=actor
    )


def admin_adjust(
    organization_id: int,
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
        or f"adjust:{organization_id}:{timezone.now().timestamp()}:{getattr(actor, 'pk', 'cli')}"
    )
    return post_entry(
        organization_id,
        amount,
        LedgerEntry.Kind.ADJUSTMENT,
        key,
        description=note.strip(),
        staff_note=reason.strip(),
        actor=actor,
        allow_negative=False,
    )


def grant_demo_credit(*, admin=None, demo=None, stdout=None) -> None:
    """``manage.py bootstrap``: the demo user's starting credit, granted once."""
    if demo is None or settings.DEMO_CREDIT_USD <= 0:
        return
    posted = credit(
        personal_organization(demo).pk,
        settings.DEMO_CREDIT_USD,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        idempotency_key=f"demo-credit:{demo.pk}",
        description="Demo credit",
        actor=admin,
    )
    if posted.created and stdout is not None:
        stdout.write(f"Granted {format_usd(settings.DEMO_CREDIT_USD)} demo credit to {demo.email}")


def grant_signup_credit(user_id: int) -> Posted | None:
    """A new account's starting credit (``SIGNUP_CREDIT_USD``), into its personal
    organization's wallet: once per user, ever.

    Called when the account's e-mail address is verified (or at sign-up when
    verification is off); the idempotency key makes a second call a no-op.
    """
    amount = settings.SIGNUP_CREDIT_USD
    if amount <= 0:
        return None
    user = User.objects.get(pk=user_id)
    return credit(
        personal_organization(user).pk,
        amount,
        kind=LedgerEntry.Kind.SIGNUP,
        idempotency_key=f"signup-credit:{user_id}",
        description=f"Welcome to {settings.SITE_NAME}",
    )
