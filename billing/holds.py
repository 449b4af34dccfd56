"""Holding a request's worst-case cost before any upstream call, and giving holds back.

One conditional UPDATE takes the funds only if ``balance − held`` covers them; a hold a
killed process left behind is released once expired. Settling them: ``billing.settlement``."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.places import Caps
from billing.caps import check_caps
from billing.errors import BillingError
from billing.models import Hold, Wallet
from billing.wallets import ensure_wallet, wallet_id_of
from ground.money import format_cost, money_value

NO_CAPS = Caps()


def hold_ttl() -> timedelta:
    return timedelta(seconds=settings.HOLD_TTL_SECONDS)


def reserve_funds(
    organization_id: int,
    request_id: str,
    amount: Decimal,
    *,
    caps: Caps | None = None,
) -> Hold | None:
    """Hold ``amount`` for a request from the organization's wallet, within every cap of
    ``caps`` (``billing.caps``), or raise ``BillingError`` (402) before any upstream call.

    One conditional UPDATE takes the funds only if ``balance − held`` covers them, so
    concurrent requests can never spend money the wallet does not have. The hold names
    the key, project and member, so each level's in-flight sum is known.
    """
    if amount <= 0:
        return None
    caps = caps or NO_CAPS
    with transaction.atomic():
        if caps.capped:
            check_caps(caps, amount, release_expired_holds)
        taken = hold_from_wallet(organization_id, amount)
        # Holds a killed process left behind stop counting once expired: before a refusal,
        # not only when the periodic task next runs.
        if not taken and release_expired_holds(Q(wallet__organization_id=organization_id)):
            taken = hold_from_wallet(organization_id, amount)
        if not taken:
            wallet = ensure_wallet(organization_id)
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
            wallet_id=wallet_id_of(organization_id),
            api_key_id=caps.api_key_id,
            project_id=caps.project_id,
            member_id=caps.member_id,
            request_id=request_id,
            amount_usd=amount,
            expires_at=timezone.now() + hold_ttl(),
        )


def hold_from_wallet(organization_id: int, amount: Decimal) -> bool:
    """One conditional UPDATE: hold ``amount`` only if ``balance − held`` covers it."""
    return bool(
        Wallet.objects.filter(
            organization_id=organization_id,
            unpaid_usd=0,
            balance_usd__gte=F("held_usd") + money_value(amount),
        ).update(held_usd=F("held_usd") + money_value(amount), updated_at=timezone.now())
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
