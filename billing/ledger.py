"""The append-only ledger: every change of a balance is one entry written in the same
transaction, under a row lock on the wallet, idempotently by key."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from billing.errors import BillingError
from billing.models import LedgerEntry, Wallet
from billing.wallets import locked_wallet, update_low_balance_state
from ground.money import MAX_AMOUNT, ZERO, format_cost, format_usd


@dataclass(frozen=True)
class Posted:
    entry: LedgerEntry
    created: bool


def post_entry(
    organization_id: int,
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
        wallet = locked_wallet(organization_id)
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


def ledger_balance(organization_id: int) -> Decimal:
    return (
        LedgerEntry.objects.filter(wallet__organization_id=organization_id).aggregate(
            s=Sum("amount_usd")
        )["s"]
        or ZERO
    )
