"""OCR jobs in the admin: who uploaded what, how far it got, what it cost; read-only.

Jobs change only through OCR's use cases (``ocr.uploads``, ``ocr.pages``, ``ocr.lifecycle``), so the admin
shows them and never edits them.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Sum
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from ground.admin import ReadOnlyAdmin, money_column
from ground.money import usd_html
from ocr.models import OcrJob, OcrPage
from usage.models import UsageRecord


class OcrPageInline(admin.TabularInline):
    model = OcrPage
    fields = ("page_num", "status", "path", "language", "elapsed", "error_code", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(OcrJob)
class OcrJobAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "short_token",
        "owner",
        "filename",
        "source",
        "status",
        "pages",
        "attempt",
        "unit_price_usd_display",
        "finished_at",
    )
    list_filter = ("status", "source", "retryable", "created_at")
    list_select_related = ("owner",)
    search_fields = ("token", "filename", "owner__email", "error_code")
    date_hierarchy = "created_at"
    inlines = (OcrPageInline,)
    unit_price_usd_display = money_column("unit_price_usd", "per page (USD)", cost=True)
    fieldsets = (
        (None, {"fields": ("token", "owner", "api_key", "source", "filename", "size_bytes")}),
        (
            "Progress",
            {
                "fields": (
                    "status",
                    "total_pages",
                    "pages_done",
                    "pages_failed",
                    "dpi",
                    "language",
                    "attempt",
                    "retry_count",
                    "retryable",
                    "next_retry_at",
                    "error_code",
                    "error",
                )
            },
        ),
        ("Billing", {"fields": ("unit_price_usd_display", "cost", "billed_attempt")}),
        (
            "Dates",
            {"fields": ("created_at", "started_at", "finished_at", "expires_at", "purged_at")},
        ),
    )
    readonly_fields = tuple(
        name for name in (
            "token", "owner", "api_key", "source", "filename", "size_bytes", "status",
            "total_pages", "pages_done", "pages_failed", "dpi", "language", "attempt",
            "retry_count", "retryable", "next_retry_at", "error_code", "error",
            "unit_price_usd_display", "cost", "billed_attempt", "created_at", "started_at",
            "finished_at", "expires_at", "purged_at",
        )
    )  # fmt: skip

    @admin.display(description="token", ordering="token")
    def short_token(self, job: OcrJob) -> str:
        return f"{job.token[:10]}…"

    @admin.display(description="pages")
    def pages(self, job: OcrJob) -> str:
        text = f"{job.pages_done}/{job.total_pages}"
        return f"{text}, {job.pages_failed} failed" if job.pages_failed else text

    @admin.display(description="charged (USD)")
    def cost(self, job: OcrJob) -> str:
        """What the job's runs were charged: one usage record per attempt, by request id."""
        request_ids = [f"ocr_{job.token}_{attempt}" for attempt in range(job.attempt + 1)]
        records = UsageRecord.objects.filter(request_id__in=request_ids)
        charged = records.aggregate(total=Sum("cost_usd"))["total"]
        if charged is None:
            return "nothing recorded yet"
        url = (
            reverse("admin:usage_usagerecord_changelist")
            + "?"
            + urlencode({"q": f"ocr_{job.token}_"})
        )
        return format_html('{} · <a href="{}">usage records</a>', usd_html(charged), url)
