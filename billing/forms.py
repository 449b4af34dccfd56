"""Forms of the wallet page and the billing admin."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.conf import settings

from billing.models import RedemptionBatch, Wallet
from billing.redemption import MAX_BATCH_SIZE
from ground.money import LARGEST_AMOUNT, format_usd


class TopUpForm(forms.Form):
    amount = forms.DecimalField()  # replaced per instance: its bounds are settings

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        low, high = settings.TOPUP_MIN_USD, settings.TOPUP_MAX_USD
        self.fields["amount"] = forms.DecimalField(
            label="Amount (USD)",
            min_value=low,
            max_value=high,
            max_digits=10,
            decimal_places=2,
            initial=max(low, min(high, Decimal(20))),
            help_text=f"Between {format_usd(low)} and {format_usd(high)}, paid by card with Stripe.",
            widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
        )


class RedeemForm(forms.Form):
    code = forms.CharField(
        label="Redemption code",
        max_length=40,
        help_text="Codes look like PORT-XXXX-XXXX-XXXX; dashes and case do not matter.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "placeholder": "PORT-XXXX-XXXX-XXXX",
            }
        ),
    )


class ThresholdForm(forms.Form):
    threshold = forms.DecimalField(
        label="E-mail me when my balance falls below (USD)",
        required=False,
        min_value=Decimal(0),
        max_value=LARGEST_AMOUNT,
        max_digits=12,
        decimal_places=2,
        help_text="One e-mail each time the balance drops below it. Leave empty to turn it off.",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
    )


class AdjustForm(forms.Form):
    """The admin's recharge or deduction: a signed amount, a staff-only reason, an optional
    note for the owner's ledger, and a one-time token. An amount above
    ``ADJUSTMENT_CONFIRM_ABOVE_USD`` (either way) posts only with ``confirmed_amount``
    equal to it: the second step of the form, so a typo of a few zeros gets a second look.
    """

    amount = forms.DecimalField(
        label="Amount (USD)",
        max_digits=20,
        decimal_places=10,
        min_value=-LARGEST_AMOUNT,
        max_value=LARGEST_AMOUNT,
        help_text="Positive to credit, negative to deduct (at most the available balance).",
    )
    reason = forms.CharField(
        label="Staff note",
        max_length=300,
        help_text="Required: why you make this adjustment. Kept with your name for staff; "
        "the wallet's owner never sees it.",
        widget=forms.TextInput(attrs={"size": 60}),
    )
    note = forms.CharField(
        label="Note for the user",
        max_length=300,
        required=False,
        help_text="Optional: shown in the user's ledger beside “Admin adjustment”.",
        widget=forms.TextInput(attrs={"size": 60}),
    )
    confirmed_amount = forms.DecimalField(
        required=False, max_digits=20, decimal_places=10, widget=forms.HiddenInput
    )
    # Submitting the same form twice (a double click, a resent POST) posts once.
    token = forms.CharField(widget=forms.HiddenInput, initial=lambda: uuid.uuid4().hex)

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("The amount must not be zero.")
        return amount

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A reason is required for every adjustment.")
        return reason

    def needs_confirmation(self) -> bool:
        """A large amount not yet confirmed as exactly this amount (call after is_valid)."""
        amount = self.cleaned_data["amount"]
        return (
            abs(amount) > settings.ADJUSTMENT_CONFIRM_ABOVE_USD
            and self.cleaned_data.get("confirmed_amount") != amount
        )


class RedemptionBatchForm(forms.ModelForm):
    count = forms.IntegerField(
        min_value=1, max_value=MAX_BATCH_SIZE, help_text="how many codes to generate"
    )

    class Meta:
        model = RedemptionBatch
        fields = ("amount_usd", "count", "expires_at", "note")

    def clean_amount_usd(self) -> Decimal:
        amount = self.cleaned_data["amount_usd"]
        if amount is None or amount <= 0:
            raise forms.ValidationError("Each code must be worth a positive amount.")
        return amount


class WalletForm(forms.ModelForm):
    class Meta:
        model = Wallet
        fields = ("low_balance_threshold_usd",)

    def clean_low_balance_threshold_usd(self) -> Decimal | None:
        value = self.cleaned_data["low_balance_threshold_usd"]
        if value is not None and value < 0:
            raise forms.ValidationError("The threshold cannot be negative.")
        return value
