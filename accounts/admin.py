"""Admin for users (allowlists and limits) and their API keys.

Keys are issued only in the portal or with ``manage.py createapikey``, where the secret
can be shown once; here there is no add form and no way to see a secret or its hash.
Edits go through ``accounts.key_settings.update_key`` and revocations through
``accounts.keys.revoke_key``, like the portal's, so the hot path's cache forgets the
key at once. Changes to limits and allowlists are logged with their old and new values.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.key_rules import KeyError_, clean_cidrs, clean_models
from accounts.key_settings import EDITABLE, update_key
from accounts.keys import revoke_key
from accounts.models import ApiKey, Scope, User
from catalog.fields import ModelAllowlistField, catalog_choices
from ground.admin import AuditedChangesMixin, LinesField
from ground.money import usd_html


class UserChangeForm(BaseUserChangeForm):
    allowed_models = ModelAllowlistField(
        label="Allowed models",
        help_text="Models this user may call, through every key and the playground. "
        "None chosen: every model.",
    )

    class Meta(BaseUserChangeForm.Meta):
        model = User

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "allowed_models" in self.fields:
            self.fields["allowed_models"].choices = catalog_choices(self.instance.allowed_models)


@admin.register(User)
class UserAdmin(AuditedChangesMixin, BaseUserAdmin):
    form = UserChangeForm
    ordering = ("email",)
    list_display = (
        "email",
        "name",
        "is_active",
        "is_staff",
        "wallet_balance",
        "date_joined",
        "last_login",
    )
    search_fields = ("email", "name")
    list_filter = ("is_active", "is_staff", "is_superuser")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (
            "Gateway limits",
            {
                "description": "Apply to all of the user's keys and the playground; a key can "
                "only narrow them. Empty limits fall back to the defaults. Every change is "
                "recorded in the history with its old and new value.",
                "fields": ("allowed_models", "rpm_limit", "tpm_limit", "rpd_limit"),
            },
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    # Old → new values in the admin history (LogEntry) for these.
    audited_fields = ("allowed_models", "rpm_limit", "tpm_limit", "rpd_limit")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("personal_organization__wallet")

    @admin.display(
        description="wallet (USD)", ordering="personal_organization__wallet__balance_usd"
    )
    def wallet_balance(self, user: User) -> str:
        """The balance of the user's personal organization's wallet."""
        try:
            return usd_html(user.personal_organization.wallet.balance_usd)
        except ObjectDoesNotExist:
            return "—"


# --- API keys -------------------------------------------------------------------------
class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("active", "active"), ("expired", "expired"), ("revoked", "revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        live = queryset.filter(revoked_at__isnull=True)
        if self.value() == "active":
            return live.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        if self.value() == "expired":
            return live.filter(expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


class ScopeFilter(admin.SimpleListFilter):
    title = "scope"
    parameter_name = "scope"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return list(Scope.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in Scope.values:
            # Matches the quoted value in the stored JSON list, on SQLite and PostgreSQL.
            return queryset.filter(scopes__icontains=f'"{self.value()}"')
        return queryset


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one scope."},
    )
    allowed_models = ModelAllowlistField(
        label="Allowed models",
        help_text="None chosen: every model the owner may use. A key can only narrow its "
        "owner's allowlist.",
    )
    ip_allowlist = LinesField(
        label="IP ranges", help_text="One address or CIDR range per line; empty: any address."
    )

    class Meta:
        model = ApiKey
        fields = (
            "name",
            "scopes",
            "allowed_models",
            "rpm_limit",
            "tpm_limit",
            "rpd_limit",
            "daily_budget_usd",
            "monthly_budget_usd",
            "total_budget_usd",
            "expires_at",
            "ip_allowlist",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "allowed_models" in self.fields:
            owner = self.instance.owner if self.instance.owner_id else None
            self.fields["allowed_models"].choices = catalog_choices(
                self.instance.allowed_models, allowed=owner.allowed_models if owner else None
            )

    def _flow_check(self, check, *args: Any) -> Any:
        try:
            return check(*args)
        except KeyError_ as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_allowed_models(self) -> list[str]:
        return self._flow_check(
            clean_models,
            self.instance.owner,
            self.cleaned_data["allowed_models"],
            self.instance.allowed_models,
        )

    def clean_ip_allowlist(self) -> list[str]:
        return self._flow_check(clean_cidrs, self.cleaned_data["ip_allowlist"])

    def clean_expires_at(self) -> Any:
        value = self.cleaned_data["expires_at"]
        if "expires_at" in self.changed_data and value is not None and value <= timezone.now():
            raise forms.ValidationError(
                "The expiry must be in the future; revoke a key to stop it."
            )
        return value

    def clean(self) -> dict:
        data = super().clean()
        for field in ("daily_budget_usd", "monthly_budget_usd", "total_budget_usd"):
            value = data.get(field)
            if value is not None and value < 0:
                self.add_error(field, "A spend cap cannot be negative.")
        return data


@admin.action(description="Revoke selected API keys", permissions=["change"])
def revoke_selected(modeladmin: ApiKeyAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    keys = list(queryset.filter(revoked_at__isnull=True).select_related("owner"))
    for key in keys:
        revoke_key(key)
        modeladmin.log_change(request, key, [{"changed": {"fields": ["Revoked at"]}}])
    noun = "key" if len(keys) == 1 else "keys"
    modeladmin.message_user(request, f"Revoked {len(keys)} API {noun}.", messages.SUCCESS)


@admin.register(ApiKey)
class ApiKeyAdmin(AuditedChangesMixin, admin.ModelAdmin):
    form = ApiKeyForm
    list_display = (
        "name",
        "visible_prefix",
        "owner",
        "status_label",
        "scope_list",
        "model_list",
        "created_at",
        "last_used_at",
    )
    list_filter = (StatusFilter, ScopeFilter, "created_at", "last_used_at")
    list_select_related = ("owner",)
    search_fields = ("name", "prefix", "owner__email")
    actions = (revoke_selected,)
    date_hierarchy = "created_at"
    audited_fields = tuple(EDITABLE.values())
    fieldsets = (
        (None, {"fields": ("name", "visible_prefix", "owner", "status_label")}),
        ("Access", {"fields": ("scopes", "allowed_models", "ip_allowlist", "expires_at")}),
        ("Rate limits", {"fields": ("rpm_limit", "tpm_limit", "rpd_limit")}),
        (
            "Spend caps (USD)",
            {"fields": ("daily_budget_usd", "monthly_budget_usd", "total_budget_usd")},
        ),
        ("Dates", {"fields": ("created_at", "last_used_at", "revoked_at")}),
    )
    readonly_fields = (
        "visible_prefix",
        "owner",
        "status_label",
        "created_at",
        "last_used_at",
        "revoked_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a secret must be shown once: issue keys in the portal or the CLI

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> tuple:
        if obj is not None and obj.is_revoked:  # a revoked key is kept as a record only
            return tuple(name for fieldset in self.fieldsets for name in fieldset[1]["fields"])
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: ApiKey, form: forms.Form, change: bool) -> None:
        options = {
            option: form.cleaned_data[field]
            for option, field in EDITABLE.items()
            if field in form.changed_data
        }
        if options:
            update_key(obj, **options)

    @admin.display(description="prefix", ordering="prefix")
    def visible_prefix(self, key: ApiKey) -> str:
        return f"{key.prefix}…"

    @admin.display(description="status")
    def status_label(self, key: ApiKey) -> str:
        return key.status

    @admin.display(description="scopes")
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes or []) or "—"

    @admin.display(description="models")
    def model_list(self, key: ApiKey) -> str:
        return ", ".join(key.allowed_models or []) or "all"


from accounts import organizations_admin  # noqa: E402,F401  (registers organizations' admin)
