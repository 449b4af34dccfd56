"""Admin for providers, models and deployments.

Provider API keys are write-only here: the form takes a new key and stores it encrypted;
pages only ever say whether one is set. Bulk actions use ``QuerySet.update`` (no
``post_save``), so they bump the catalog version themselves.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from catalog.models import Deployment, LatencyRollup, Model, Provider
from catalog.snapshots import bump_catalog_version
from ground.admin import ReadOnlyAdmin


def _set_enabled(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, enabled: bool
) -> None:
    count = queryset.update(enabled=enabled)
    bump_catalog_version()
    opts = modeladmin.model._meta
    noun = opts.verbose_name if count == 1 else opts.verbose_name_plural
    modeladmin.message_user(
        request, f"{'Enabled' if enabled else 'Disabled'} {count} {noun}.", messages.SUCCESS
    )


@admin.action(description="Enable selected")
def enable_selected(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    _set_enabled(modeladmin, request, queryset, True)


@admin.action(description="Disable selected")
def disable_selected(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
) -> None:
    _set_enabled(modeladmin, request, queryset, False)


class ProviderForm(forms.ModelForm):
    api_key = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: stored encrypted and never shown. Leave blank to keep the "
        "current key.",
    )
    clear_api_key = forms.BooleanField(
        label="Remove the stored API key",
        required=False,
        help_text="Ignored if a new key is given.",
    )

    class Meta:
        model = Provider
        fields = (
            "name",
            "label",
            "kind",
            "base_url",
            "extra_headers",
            "connect_timeout",
            "first_byte_timeout",
            "total_timeout",
            "enabled",
        )

    def save(self, commit: bool = True) -> Provider:
        provider = super().save(commit=False)
        if self.cleaned_data.get("api_key"):
            provider.set_api_key(self.cleaned_data["api_key"])
        elif self.cleaned_data.get("clear_api_key"):
            provider.api_key_encrypted = ""
        if commit:
            provider.save()
        return provider


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = ("name", "label", "kind", "base_url", "enabled", "key_set", "deployment_count")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "label", "base_url")
    actions = (enable_selected, disable_selected)
    readonly_fields = ("api_key_status", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "label", "kind", "enabled")}),
        (
            "Connection",
            {"fields": ("base_url", "api_key_status", "api_key", "clear_api_key", "extra_headers")},
        ),
        ("Timeouts", {"fields": ("connect_timeout", "first_byte_timeout", "total_timeout")}),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(num_deployments=Count("deployments"))

    @admin.display(boolean=True, description="key set")
    def key_set(self, provider: Provider) -> bool:
        return provider.has_api_key

    @admin.display(description="API key")
    def api_key_status(self, provider: Provider) -> str:
        return "set" if provider.has_api_key else "not set"

    @admin.display(description="deployments", ordering="num_deployments")
    def deployment_count(self, provider: Provider) -> int:
        return provider.num_deployments


class DeploymentInline(admin.TabularInline):
    model = Deployment
    extra = 0
    fields = ("provider", "upstream_model", "priority", "weight", "enabled")
    autocomplete_fields = ("provider",)


@admin.register(Model)
class ModelAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "type",
        "name",
        "input_price_per_1m",
        "output_price_per_1m",
        "unit_price",
        "enabled",
        "providers",
    )
    list_filter = ("type", "enabled", ("deployments__provider", admin.RelatedOnlyFieldListFilter))
    search_fields = ("public_id", "name", "owned_by", "deployments__upstream_model")
    actions = (enable_selected, disable_selected)
    inlines = (DeploymentInline,)
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("public_id", "type", "name", "description", "owned_by", "enabled")}),
        ("Limits", {"fields": ("context_window", "max_output_tokens")}),
        (
            "Pricing (USD)",
            {
                "description": "Per 1M tokens for LLM and embedding models; the unit price "
                "is per OCR page or per retrieval query.",
                "fields": (
                    "input_price_per_1m",
                    "output_price_per_1m",
                    "cached_input_price_per_1m",
                    "unit_price",
                ),
            },
        ),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("deployments__provider")

    @admin.display(description="providers")
    def providers(self, model: Model) -> str:
        names = sorted({d.provider.name for d in model.deployments.all()})
        return ", ".join(names) or "—"


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ("model", "provider", "upstream_model", "priority", "weight", "enabled")
    list_filter = ("enabled", "provider", "model__type")
    list_select_related = ("model", "provider")
    search_fields = ("model__public_id", "provider__name", "upstream_model")
    autocomplete_fields = ("model", "provider")
    actions = (enable_selected, disable_selected)


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
