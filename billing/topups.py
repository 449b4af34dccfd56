"""Card top-ups with Stripe Checkout: a session to pay, a signed webhook that credits."""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model

from accounts.models import OrganizationMember
from accounts.organizations import personal_organization
from billing import checkout
from billing.credits import credit
from billing.errors import BillingError
from billing.models import LedgerEntry
from ground.money import format_usd
from ground.text import strict_int

log = logging.getLogger(__name__)

# Both are "the customer has paid": a card pays at once (completed, paid); a delayed
# method completes unpaid and succeeds later. Only a paid session is ever credited.
CREDITING_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}


def check_topup_amount(amount: Decimal) -> None:
    low, high = settings.TOPUP_MIN_USD, settings.TOPUP_MAX_USD
    if not amount.is_finite() or amount != amount.quantize(checkout.CENT):
        raise BillingError("Enter an amount in dollars and cents.", "invalid_amount")
    if not low <= amount <= high:
        raise BillingError(
            f"Top-ups must be between {format_usd(low)} and {format_usd(high)}.", "invalid_amount"
        )


def start_checkout(
    user, amount: Decimal, *, organization_id: int, success_url: str, cancel_url: str
) -> str:
    """Create a Stripe Checkout Session for ``user`` to pay into the wallet of
    ``organization_id`` and return the URL to send the user to.

    Nothing is credited here: only Stripe's signed webhook credits the wallet.
    """
    if not checkout.is_configured():
        raise BillingError("Card payments are not available on this Portico.", "not_configured")
    check_topup_amount(amount)
    try:
        session = checkout.create_checkout_session(
            amount=amount,
            user_id=user.pk,
            organization_id=organization_id,
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
    elif (
        strict_int(user_id) is None
        or not get_user_model().objects.filter(pk=strict_int(user_id)).exists()
    ):
        problem = f"user {user_id!r} is unknown"
    if problem:
        log.error("Stripe event %s (%s) NOT credited: %s", event_id, session.get("id"), problem)
        return f"ignored: {problem}"
    amount = checkout.from_cents(amount_total)
    payer = get_user_model().objects.get(pk=strict_int(user_id))
    organization_id = paid_into(payer, (session.get("metadata") or {}).get("organization_id"))
    posted = credit(
        organization_id,
        amount,
        kind=LedgerEntry.Kind.TOPUP,
        idempotency_key=f"stripe:{event_id}",
        description=f"Card top-up (Stripe {session.get('id', '')})",
        actor=payer,
    )
    if not posted.created:
        return "duplicate: already credited"
    log.info(
        "Stripe event %s credited %s USD to organization %s (paid by user %s)",
        event_id,
        amount,
        organization_id,
        user_id,
    )
    return "credited"


def paid_into(payer, organization_id: object) -> int:
    """The wallet a paid session credits: the organization it was started for, when the
    payer still belongs to it; else (a session started before organizations, or the payer
    left) the payer's personal organization, so a payment is never lost."""
    number = strict_int(str(organization_id or ""))
    if (
        number is not None
        and OrganizationMember.objects.filter(organization_id=number, user=payer).exists()
    ):
        return number
    return personal_organization(payer).pk
