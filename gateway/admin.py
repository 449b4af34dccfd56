"""Admin for API keys and the (read-only) usage records and rollups.

Keys are issued only in the portal or with ``manage.py createapikey``, where the secret
can be shown once; here there is no add form and no way to see a secret or its hash.
Edits go through ``gateway.key_flows.update_key`` and revocations through
``gateway.flows.revoke_key``, like the portal's, so the hot path's cache forgets the
key at once. Changes to limits and allowlists are logged with their old and new values.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from billing.flows import money
from gateway.flows import KeyError_, clean_cidrs, clean_models, revoke_key
from gateway.key_flows import EDITABLE, update_key
from gateway.models import ApiKey, LatencyRollup, Scope, UsageRecord, UsageRollup


# --- Shared pieces (the user admin uses them too) ---------------------------------------
def catalog_choices(current: list[str] | None = None) -> list[tuple[str, str]]:
    """Every catalog model id (disabled ones marked), plus any id already chosen."""
    from catalog.models import Model

    rows = Model.objects.order_by("public_id").values_list("public_id", "enabled")
    choices = [(pid, pid if enabled else f"{pid} (disabled)") for pid, enabled in rows]
    known = {pid for pid, _ in choices}
    choices += [(pid, f"{pid} (not in the catalog)") for pid in current or [] if pid not in known]
    return choices


class ModelPicker(FilteredSelectMultiple):
    """The admin's two-box filter for a plain (non-relation) field.

    Its script moves the widget to the front of its parent; wrapped like a relation's
    widget, it stays after the field's label.
    """

    def __init__(self) -> None:
        super().__init__("models", is_stacked=False)

    def render(self, *args: Any, **kwargs: Any) -> str:
        return format_html(
            '<div class="related-widget-wrapper">{}</div>', super().render(*args, **kwargs)
        )


class ModelAllowlistField(forms.MultipleChoiceField):
    """A JSON list of model ids, picked from the catalog with the admin's two-box filter."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", ModelPicker())
        super().__init__(**kwargs)


class LinesField(forms.CharField):
    """A JSON list of strings edited as one item per line."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 40})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def has_changed(self, initial: Any, data: Any) -> bool:
        return list(initial or []) != self.to_python(data)


def audit_value(value: Any) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(item) for item in value) + "]"
    return str(value)


class AuditedChangesMixin:
    """Change messages (admin history, ``LogEntry``) with old → new values.

    Django records who changed what and when, but only the names of changed fields;
    for ``audited_fields`` the entry reads e.g. "Allowed models: [a, b] → [a]".
    """

    audited_fields: tuple[str, ...] = ()

    def construct_change_message(
        self, request: HttpRequest, form: forms.Form, formsets: Any, add: bool = False
    ) -> list[dict]:
        message = super().construct_change_message(request, form, formsets, add)
        changed = [name for name in self.audited_fields if name in form.changed_data]
        if add or not changed:
            return message
        labels = {str(form.fields[name].label or name) for name in changed}
        details = [
            f"{form.fields[name].label or name}: {audit_value(form.initial.get(name))} → "
            f"{audit_value(form.cleaned_data.get(name))}"
            for name in changed
        ]
        for entry in message:
            fields = entry.get("changed", {})
            if "fields" in fields and "name" not in fields:  # the object itself, not an inline
                fields["fields"] = [label for label in fields["fields"] if label not in labels]
                fields["fields"] += details
        return message


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
            self.fields["allowed_models"].choices = catalog_choices(self.instance.allowed_models)

    def _flow_check(self, check, *args: Any) -> Any:
        try:
            return check(*args)
        except KeyError_ as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_allowed_models(self) -> list[str]:
        return self._flow_check(
            clean_models, self.instance.owner, self.cleaned_data["allowed_models"]
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


# --- Usage (append-only: written by the metering drain, never by hand) ------------------
class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False  # no COUNT(*) over a large table on every page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "request_id",
        "user",
        "model",
        "provider",
        "source",
        "endpoint",
        "stream",
        "status",
        "http_status",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "latency_ms",
    )
    list_filter = ("source", "status", "model", "stream", "endpoint", "provider")
    list_select_related = ("user",)
    search_fields = ("request_id", "user__email")
    date_hierarchy = "created_at"


@admin.register(UsageRollup)
class UsageRollupAdmin(ReadOnlyAdmin):
    list_display = (
        "hour",
        "user",
        "api_key",
        "model",
        "source",
        "requests",
        "errors",
        "prompt_tokens",
        "completion_tokens",
        "units",
        "cost_usd",
    )
    list_filter = ("source", "model")
    list_select_related = ("user", "api_key")
    search_fields = ("user__email", "model")
    date_hierarchy = "hour"


@admin.register(LatencyRollup)
class LatencyRollupAdmin(ReadOnlyAdmin):
    list_display = (
        "hour",
        "model",
        "provider",
        "requests",
        "errors",
        "average_latency_ms",
        "output_tokens",
    )
    list_filter = ("provider", "model")
    search_fields = ("model", "provider")
    date_hierarchy = "hour"

    @admin.display(description="avg latency (ms)")
    def average_latency_ms(self, rollup: LatencyRollup) -> int | str:
        return rollup.latency_ms_sum // rollup.requests if rollup.requests else "—"
