"""The API-key form of the Keys page: one form for creating a key and for editing one.

Field checks reuse ``accounts.key_rules``' cleaners so an error lands next to its field;
the flow still validates again when it runs (its ``KeyError_`` becomes a form error).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from accounts import key_rules
from accounts.models import ALL_SCOPES, ApiKey, Scope
from catalog.snapshots import get_catalog_sync
from ground.money import LARGEST_AMOUNT, plain

MAX_LIMIT = 2_147_483_647  # PositiveIntegerField's ceiling on every database


def usable_models(user) -> list[tuple[str, str]]:
    """(model id, type) of the enabled, deployed models ``user`` may call, sorted by id."""
    allowed = set(user.allowed_models or [])
    return sorted(
        (entry.public_id, entry.type)
        for entry in get_catalog_sync().models.values()
        if entry.deployments and (not allowed or entry.public_id in allowed)
    )


def unavailable_reason(user, model_id: str) -> str:
    """Why a model a key names cannot be called by ``user``'s keys."""
    entry = get_catalog_sync().models.get(model_id)
    if entry is None:
        return "not in the catalog"
    if not entry.deployments:
        return "no provider"
    if user.allowed_models and model_id not in user.allowed_models:
        return "not on your account's allowlist"
    return "not available"


def limit_field(label: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=1,
        max_value=MAX_LIMIT,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "placeholder": "no limit"}),
    )


def budget_field(label: str, help_text: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=Decimal(0),
        max_value=LARGEST_AMOUNT,
        max_digits=14,
        decimal_places=4,
        help_text=help_text,
        widget=forms.NumberInput(
            attrs={"step": "any", "inputmode": "decimal", "placeholder": "no cap"}
        ),
    )


class KeyForm(forms.Form):
    """Create (``instance=None``) or edit a key of ``owner``."""

    name = forms.CharField(
        max_length=100,
        help_text="Where the key is used, e.g. “billing-service prod”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one scope."},
        help_text="What the key may call.",
    )
    models = forms.MultipleChoiceField(
        label="Models",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to allow every model your account may use.",
    )
    rpm = limit_field("Requests per minute")
    tpm = limit_field("Tokens per minute")
    rpd = limit_field("Requests per day")
    daily_budget = budget_field("Daily cap (USD)", "Per UTC day")
    monthly_budget = budget_field("Monthly cap (USD)", "Per UTC month")
    total_budget = budget_field("Total cap (USD)", "Over the key's life")
    expires_at = forms.DateTimeField(
        label="Expires",
        required=False,
        help_text="UTC. Leave empty for a key that does not expire.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ip_allowlist = forms.CharField(
        label="IP ranges",
        required=False,
        help_text="One address or CIDR range per line, e.g. 203.0.113.0/24. Empty: any address.",
        widget=forms.Textarea(
            attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off", "class": "mono"}
        ),
    )

    def __init__(self, *args: Any, owner, instance: ApiKey | None = None, **kwargs: Any) -> None:
        self.owner = owner
        self.instance = instance
        if instance is not None:
            kwargs.setdefault("initial", initial_for(instance))
        else:
            kwargs.setdefault("initial", {"scopes": list(ALL_SCOPES)})
        # Ids stay unique when an edit form is swapped into the page beside the create form.
        kwargs.setdefault("auto_id", f"key-{instance.pk}-%s" if instance else "new-key-%s")
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.model_types = dict(usable_models(owner))
        # A model the key already names stays visible (and kept) even if the catalog
        # dropped it, so editing limits never silently widens the key's allowlist.
        kept = [
            m for m in (instance.allowed_models if instance else []) if m not in self.model_types
        ]
        self.unavailable = {model_id: unavailable_reason(owner, model_id) for model_id in kept}
        choices = [(model_id, model_id) for model_id in self.model_types]
        choices += [
            (model_id, f"{model_id} (unavailable: {reason})")
            for model_id, reason in self.unavailable.items()
        ]
        self.fields["models"].choices = choices
        # Without a key limit, requests per minute still stop at the gateway's default.
        self.fields["rpm"].widget.attrs["placeholder"] = f"default {settings.DEFAULT_KEY_RPM}"

    @property
    def account_limits(self) -> list[str]:
        """The owner's own limits (set by an administrator), which apply to every key."""
        owner = self.owner
        pairs = (("RPM", owner.rpm_limit), ("TPM", owner.tpm_limit), ("RPD", owner.rpd_limit))
        return [f"{value:,} {label}" for label, value in pairs if value]

    @property
    def model_options(self) -> list[tuple[Any, str, str]]:
        """(checkbox, model type, why it is unavailable or "") for the model picker."""
        return [
            (
                box,
                self.model_types.get(box.data["value"], ""),
                self.unavailable.get(box.data["value"], ""),
            )
            for box in self["models"]
        ]

    def clean_models(self) -> list[str]:
        try:
            current = self.instance.allowed_models if self.instance else None
            return key_rules.clean_models(self.owner, self.cleaned_data["models"], current)
        except key_rules.KeyError_ as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_ip_allowlist(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["ip_allowlist"].splitlines()]
        try:
            return key_rules.clean_cidrs([line for line in lines if line])
        except key_rules.KeyError_ as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_expires_at(self) -> datetime | None:
        value = self.cleaned_data["expires_at"]
        current = self.instance.expires_at if self.instance is not None else None
        # The input has minute precision: the current expiry comes back truncated.
        if (
            value is not None
            and current is not None
            and value == current.replace(second=0, microsecond=0)
        ):
            return current
        if value is not None and value <= timezone.now():
            raise forms.ValidationError("The expiry must be in the future.")
        return value

    def flow_options(self) -> dict[str, Any]:
        """The cleaned values as keyword arguments of ``issue_key`` / ``update_key``."""
        data = self.cleaned_data
        return {
            "scopes": data["scopes"],
            "models": data["models"],
            "rpm": data["rpm"],
            "tpm": data["tpm"],
            "rpd": data["rpd"],
            "daily_budget": data["daily_budget"],
            "monthly_budget": data["monthly_budget"],
            "total_budget": data["total_budget"],
            "expires_at": data["expires_at"],
            "ip_allowlist": data["ip_allowlist"],
        }


def initial_for(key: ApiKey) -> dict[str, Any]:
    def amount(value: Decimal | None) -> str | None:
        return plain(value) if value is not None else None

    return {
        "name": key.name,
        "scopes": list(key.scopes or []),
        "models": list(key.allowed_models or []),
        "rpm": key.rpm_limit,
        "tpm": key.tpm_limit,
        "rpd": key.rpd_limit,
        "daily_budget": amount(key.daily_budget_usd),
        "monthly_budget": amount(key.monthly_budget_usd),
        "total_budget": amount(key.total_budget_usd),
        "expires_at": key.expires_at,
        "ip_allowlist": "\n".join(key.ip_allowlist or []),
    }
