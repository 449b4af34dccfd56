"""A user's wallet: created on demand, locked for a balance change, summed up for the API,
and its low-balance e-mail (once per crossing below the owner's threshold)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from billing.errors import BillingError
from billing.models import Wallet
from ground.money import plain
from ground.queueing import queue_after_commit


def ensure_wallet(user_id: int) -> Wallet:
    wallet, _ = Wallet.objects.get_or_create(user_id=user_id)
    return wallet


def locked_wallet(user_id: int) -> Wallet:
    ensure_wallet(user_id)
    return Wallet.objects.select_for_update().get(user_id=user_id)


_wallet_ids: dict[int, int] = {}


def wallet_id_of(user_id: int) -> int:
    """A user's wallet id never changes once the wallet exists: remembered per process."""
    wallet_id = _wallet_ids.get(user_id)
    if wallet_id is None:
        wallet_id = _wallet_ids[user_id] = Wallet.objects.values_list("pk", flat=True).get(
            user_id=user_id
        )
    return wallet_id


# --- Low balance -----------------------------------------------------------------------------------
def update_low_balance_state(wallet: Wallet) -> None:
    """Mail once per crossing below the user's threshold; re-arm when the balance recovers."""
    threshold = wallet.low_balance_threshold_usd
    if threshold is None:
        return
    if wallet.balance_usd < threshold and not wallet.low_balance_notified:
        wallet.low_balance_notified = True
        queue_after_commit("billing.tasks.send_low_balance_email", wallet.user_id)
    elif wallet.balance_usd >= threshold and wallet.low_balance_notified:
        wallet.low_balance_notified = False


def wallet_summary(user_id: int) -> dict:
    wallet = ensure_wallet(user_id)
    return {
        "balance_usd": plain(wallet.balance_usd),
        "held_usd": plain(wallet.held_usd),
        "available_usd": plain(wallet.available_usd),
        "unpaid_usd": plain(wallet.unpaid_usd),
        "currency": wallet.currency,
    }


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
