"""The prepaid wallet: an append-only ledger, open holds, and a cached balance.

``Wallet.balance_usd`` always equals the sum of the wallet's ledger entries and
``Wallet.held_usd`` the sum of its open holds: both change only in the transaction
that writes the ledger entry or the hold, under a row lock on the wallet.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from ground.money import format_usd, money_field


class Wallet(models.Model):
    # The organization's prepaid wallet: every member's and every project's spend comes
    # out of it (a personal organization's wallet is its one user's). See
    # docs/organizations.md.
    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="wallet"
    )
    currency = models.CharField(max_length=3, default="USD", editable=False)
    balance_usd = money_field(default=Decimal(0), editable=False)
    held_usd = money_field(default=Decimal(0), editable=False)
    unpaid_usd = money_field(
        default=Decimal(0),
        editable=False,
        help_text="usage an upstream billed beyond its hold that the balance could not cover",
    )
    low_balance_threshold_usd = money_field(null=True, blank=True)
    low_balance_notified = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.organization} ({format_usd(self.balance_usd)})"

    @property
    def available_usd(self) -> Decimal:
        return self.balance_usd - self.held_usd

    @property
    def holder(self) -> str:
        """Whose wallet, as staff read it: a personal organization's user's address, else
        the organization's name."""
        org = self.organization
        return org.personal_for.email if org.personal_for_id else org.name


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        TOPUP = "topup", "Card top-up"
        REDEMPTION = "redemption", "Redemption code"
        ADJUSTMENT = "adjustment", "Admin adjustment"
        USAGE = "usage", "Usage charge"
        REFUND = "refund", "Refund"
        SIGNUP = "signup", "Sign-up credit"

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount_usd = money_field(help_text="positive credits, negative debits")
    balance_after_usd = money_field()
    idempotency_key = models.CharField(max_length=200, unique=True)
    description = models.CharField(
        max_length=300, blank=True, help_text="shown to the wallet's owner in their ledger"
    )
    staff_note = models.CharField(
        max_length=300, blank=True, help_text="why staff made this entry; never shown to the owner"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-id",)
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=("wallet", "-id"), name="ledger_wallet_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {format_usd(self.amount_usd, signed=True)}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Ledger entries are append-only")

    @property
    def detail(self) -> str:
        """The description as the owner's ledger shows it beside the kind's badge, without
        the kind's name repeated: "Redemption code PORT-…" reads "PORT-…"."""
        label, text = self.get_kind_display(), self.description
        if text.lower().startswith(label.lower()):
            text = text[len(label) :].strip(" :—-")
            if text.startswith("(") and text.endswith(")"):
                text = text[1:-1]
        return text


class Hold(models.Model):
    """Funds reserved for one in-flight request (its worst-case cost), or a web process's
    funds lease (``billing.leases``): part of the balance the process admits requests
    against in memory, lowered by the drain as it charges each of those requests."""

    class Kind(models.TextChoices):
        REQUEST = "request"
        LEASE = "lease"

    class Status(models.TextChoices):
        OPEN = "open"
        SETTLED = "settled"
        RELEASED = "released"
        EXPIRED = "expired"

    wallet = models.ForeignKey(Wallet, on_delete=models.CASCADE, related_name="holds")
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Whose budgets count this hold in flight (``billing.caps``): the project, and the
    # member whose cap applies (none for a service account's key).
    project = models.ForeignKey(
        "accounts.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    request_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.REQUEST)
    amount_usd = money_field()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=("status", "expires_at"), name="hold_open_expiry"),
            models.Index(fields=("api_key", "status"), name="hold_key_status"),
            models.Index(fields=("project", "status"), name="hold_project_status"),
        ]

    def __str__(self) -> str:
        return f"hold {self.request_id} {self.amount_usd} ({self.status})"


class RedemptionBatch(models.Model):
    """Codes an admin issued together: each worth ``amount_usd``, redeemable once."""

    amount_usd = money_field(verbose_name="amount (USD)", help_text="credited per code")
    count = models.PositiveIntegerField(help_text="how many codes the batch holds")
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="codes cannot be redeemed after this; empty = never"
    )
    note = models.CharField(max_length=200, blank=True, help_text="what the codes are for")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-id",)
        verbose_name_plural = "redemption batches"

    def __str__(self) -> str:
        label = f"Batch {self.pk}: {self.count} × {format_usd(self.amount_usd)}"
        return f"{label} ({self.note})" if self.note else label


class RedemptionCode(models.Model):
    batch = models.ForeignKey(RedemptionBatch, on_delete=models.PROTECT, related_name="codes")
    code = models.CharField(max_length=32, unique=True)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return self.code
