"""The user's admin page, with their usage and wallet.

``accounts`` owns the User admin and may not import ``usage`` or ``billing`` (they sit
above it), so the panel is added from here, the top layer: the admin class is a
subclass of ``accounts.admin.UserAdmin`` that appends one read-only fieldset, and it
replaces the registered one. A template hook in ``accounts`` would have needed a
template tag doing queries out of sight; a subclass keeps it plain Python, rendered by
the admin's own read-only field machinery and tested like any other admin.
"""

from __future__ import annotations

from datetime import UTC
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts import admin as accounts_admin  # registers the User admin replaced below
from accounts.models import User
from billing.models import Wallet
from ground.money import usd_html
from usage.models import UsageRollup
from usage.queries import SUMS, Totals, day_start


def usage_totals(user_id: int) -> dict[str, Totals]:
    """Today, this month and all time, from the user's hourly rollups (two queries)."""
    today = timezone.now().astimezone(UTC).date()
    month_start = day_start(today.replace(day=1))
    rollups = UsageRollup.objects.filter(user_id=user_id)
    total = Totals.of(rollups.aggregate(**SUMS))
    month, day = Totals(), Totals()
    for row in rollups.filter(hour__gte=month_start).values("hour").annotate(**SUMS).order_by():
        totals = Totals.of(row)
        month.add(totals)
        if row["hour"] >= day_start(today):
            day.add(totals)
    return {"Today (UTC)": day, "This month": month, "All time": total}


class UserAdmin(accounts_admin.UserAdmin):
    usage_fieldset = (
        "Usage and wallet",
        {
            "description": "From the hourly usage rollups and the wallet ledger.",
            "fields": ("usage_summary", "wallet_summary"),
        },
    )

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None):
        fieldsets = super().get_fieldsets(request, obj)
        return (*fieldsets, self.usage_fieldset) if obj is not None else fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None):
        return (*super().get_readonly_fields(request, obj), "usage_summary", "wallet_summary")

    @admin.display(description="usage")
    def usage_summary(self, user: User) -> str:
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td class="num">{}</td><td class="num">{}</td>'
            '<td class="num">{}</td></tr>',
            (
                (label, f"{t.requests:,}", f"{t.errors:,}", usd_html(t.cost))
                for label, t in usage_totals(user.pk).items()
            ),
        )
        records = reverse("admin:usage_usagerecord_changelist")
        rollups = reverse("admin:usage_usagerollup_changelist")
        query = urlencode({"user__id__exact": user.pk})
        return format_html(
            '<table class="user-usage" data-testid="user-usage"><thead><tr><th></th>'
            '<th scope="col">Requests</th><th scope="col">Failed</th><th scope="col">Spend</th>'
            "</tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}?{}">Usage records</a> · <a href="{}?{}">Hourly rollups</a></p>',
            rows,
            records,
            query,
            rollups,
            query,
        )

    @admin.display(description="wallet")
    def wallet_summary(self, user: User) -> str:
        try:
            wallet = Wallet.objects.get(organization__personal_for=user)
        except ObjectDoesNotExist:
            return "No wallet yet (one is made on first use)."
        ledger = reverse("admin:billing_ledgerentry_changelist")
        adjust = reverse("admin:billing_wallet_adjust", args=[wallet.pk])
        unpaid = (
            format_html(" · <strong>{} unpaid</strong>", usd_html(wallet.unpaid_usd))
            if wallet.unpaid_usd
            else ""
        )
        return format_html(
            '<span data-testid="user-wallet">Balance {} · held {} · available {}{}</span>'
            '<p><a href="{}?{}">Ledger</a> · <a href="{}">Wallet</a> · '
            '<a href="{}">Adjust balance…</a></p>',
            usd_html(wallet.balance_usd),
            usd_html(wallet.held_usd),
            usd_html(wallet.available_usd),
            unpaid,
            ledger,
            urlencode({"wallet__id__exact": wallet.pk}),
            reverse("admin:billing_wallet_change", args=[wallet.pk]),
            adjust,
        )


admin.site.unregister(User)
admin.site.register(User, UserAdmin)
