"""An organization's wallet: created on demand, locked for a balance change, summed up for
the API, and its low-balance e-mail (once per crossing below the threshold, to the
organization's owners). A signed-in user's pages show their current organization's
wallet (``current_organization_id``)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from accounts.models import Organization, Project, User
from accounts.organizations import personal_organization
from billing.errors import BillingError
from billing.models import Wallet
from ground.money import plain
from ground.queueing import queue_after_commit


def ensure_wallet(organization_id: int) -> Wallet:
    wallet, _ = Wallet.objects.get_or_create(organization_id=organization_id)
    return wallet


def locked_wallet(organization_id: int) -> Wallet:
    ensure_wallet(organization_id)
    return Wallet.objects.select_for_update().get(organization_id=organization_id)


_wallet_ids: dict[int, int] = {}


def wallet_id_of(organization_id: int) -> int:
    """An organization's wallet id never changes once the wallet exists: remembered per
    process."""
    wallet_id = _wallet_ids.get(organization_id)
    if wallet_id is None:
        wallet_id = _wallet_ids[organization_id] = Wallet.objects.values_list("pk", flat=True).get(
            organization_id=organization_id
        )
    return wallet_id


_current: dict[int, int] = {}


def current_organization_id(user: User | int) -> int:
    """The organization whose wallet a signed-in user's pages show and spend from (a user
    or a user id): their personal organization (a switcher comes later). Remembered per
    process: a personal organization is its user's for good."""
    user_id = user if isinstance(user, int) else user.pk
    organization_id = _current.get(user_id)
    if organization_id is None:
        if isinstance(user, int):
            user = User.objects.get(pk=user_id)
        organization_id = _current[user_id] = personal_organization(user).pk
    return organization_id


def forget_cached_ids() -> None:
    """Tests: ids are reused after a rolled-back transaction."""
    _wallet_ids.clear()
    _current.clear()


# --- Low balance -----------------------------------------------------------------------------------
def update_low_balance_state(wallet: Wallet) -> None:
    """Mail the owners once per crossing below the threshold; re-arm when the balance
    recovers."""
    threshold = wallet.low_balance_threshold_usd
    if threshold is None:
        return
    if wallet.balance_usd < threshold and not wallet.low_balance_notified:
        wallet.low_balance_notified = True
        queue_after_commit("billing.tasks.send_low_balance_email", wallet.organization_id)
    elif wallet.balance_usd >= threshold and wallet.low_balance_notified:
        wallet.low_balance_notified = False


def wallet_summary(organization_id: int, *, project_id: int | None = None) -> dict:
    """The wallet as ``/v1/wallet`` answers: amounts as decimal strings, the organization's
    public id and (for a key) its project's."""
    wallet = ensure_wallet(organization_id)
    return {
        "balance_usd": plain(wallet.balance_usd),
        "held_usd": plain(wallet.held_usd),
        "available_usd": plain(wallet.available_usd),
        "unpaid_usd": plain(wallet.unpaid_usd),
        "currency": wallet.currency,
        "organization": Organization.objects.values_list("public_id", flat=True).get(
            pk=organization_id
        ),
        "project": Project.objects.filter(pk=project_id).values_list("public_id", flat=True).first()
        if project_id
        else None,
    }


def set_low_balance_threshold(organization_id: int, threshold: Decimal | None) -> Wallet:
    """``None`` turns the low-balance e-mail off.

    A balance already below the new threshold counts as known (the user is looking at
    it): no mail now, one at the next crossing after the balance recovers.
    """
    if threshold is not None and threshold < 0:
        raise BillingError("The threshold cannot be negative.", "invalid_amount")
    with transaction.atomic():
        wallet = locked_wallet(organization_id)
        wallet.low_balance_threshold_usd = threshold
        wallet.low_balance_notified = threshold is not None and wallet.balance_usd < threshold
        wallet.save(
            update_fields=["low_balance_threshold_usd", "low_balance_notified", "updated_at"]
        )
    return wallet
