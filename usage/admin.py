"""Usage records and rollups in the admin: append-only, written by the drain, never by hand."""

from __future__ import annotations

from django.contrib import admin

from ground.admin import ReadOnlyAdmin, money_column
from usage.models import DeadUsageEvent, UsageRecord, UsageRollup


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
        "cost_usd_display",
        "latency_ms",
    )
    list_filter = ("source", "status", "model", "stream", "endpoint", "provider")
    list_select_related = ("user",)
    search_fields = ("request_id", "user__email")
    date_hierarchy = "created_at"
    cost_usd_display = money_column("cost_usd", "cost (USD)", cost=True)


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
        "cost_usd_display",
    )
    list_filter = ("source", "model")
    list_select_related = ("user", "api_key")
    search_fields = ("user__email", "model")
    date_hierarchy = "hour"
    cost_usd_display = money_column("cost_usd", "cost (USD)")


@admin.register(DeadUsageEvent)
class DeadUsageEventAdmin(ReadOnlyAdmin):
    """Events the drain could not record (see ``usage.drain.park``)."""

    list_display = ("created_at", "request_id", "error")
    search_fields = ("request_id", "error")
    readonly_fields = ("created_at", "request_id", "error", "payload")

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser  # once looked at, an operator may clear them
