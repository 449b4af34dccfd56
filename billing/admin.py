"""Billing admin: wallets (with the audited "Adjust balance" form), a read-only ledger and
holds, and redemption batches (generated on add, exported as CSV)."""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from billing.credits import admin_adjust
from billing.errors import BillingError
from billing.forms import AdjustForm, RedemptionBatchForm, WalletForm
from billing.models import Hold, LedgerEntry, RedemptionBatch, RedemptionCode, Wallet
from billing.redemption import create_redemption_batch
from billing.wallets import set_low_balance_threshold
from ground.admin import ReadOnlyAdmin, money_column
from ground.money import exact_usd, format_usd, plain, usd_html


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    form = WalletForm
    list_display = (
        "organization",
        "owners",
        "balance",
        "held",
        "available",
        "low_balance_threshold_usd",
        "adjust",
    )
    list_select_related = ("organization",)
    search_fields = (
        "organization__name",
        "organization__public_id",
        "organization__members__user__email",
    )
    fields = (
        "organization",
        "currency",
        "balance",
        "held",
        "available",
        "low_balance_threshold_usd",
        "low_balance_notified",
        "updated_at",
        "adjust",
    )
    readonly_fields = (
        "organization",
        "currency",
        "balance",
        "held",
        "available",
        "low_balance_notified",
        "updated_at",
        "adjust",
    )
    actions = ("adjust_balance",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # every user gets one on sign-up

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Wallet, form, change: bool) -> None:
        # Never ``obj.save()``: it would write back the balance and holds as they were when
        # the form was loaded, undoing every charge and credit posted since.
        set_low_balance_threshold(
            obj.organization_id, form.cleaned_data["low_balance_threshold_usd"]
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("organization__members__user")

    @admin.display(description="owners")
    def owners(self, wallet: Wallet) -> str:
        """Who may top it up (the organization's owners)."""
        return ", ".join(
            m.user.email for m in wallet.organization.members.all() if m.role == "owner"
        )

    @admin.display(description="balance (USD)", ordering="balance_usd")
    def balance(self, wallet: Wallet) -> str:
        return usd_html(wallet.balance_usd)

    @admin.display(description="held (USD)", ordering="held_usd")
    def held(self, wallet: Wallet) -> str:
        return usd_html(wallet.held_usd)

    @admin.display(description="available (USD)")
    def available(self, wallet: Wallet) -> str:
        return usd_html(wallet.available_usd)

    @admin.display(description="adjust")
    def adjust(self, wallet: Wallet) -> str:
        if wallet.pk is None:
            return "-"
        url = reverse("admin:billing_wallet_adjust", args=[wallet.pk])
        return format_html('<a href="{}">Adjust balance…</a>', url)

    @admin.action(description="Adjust the balance of the selected wallet…")
    def adjust_balance(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one wallet to adjust.", messages.ERROR)
            return None
        return redirect("admin:billing_wallet_adjust", queryset.get().pk)

    def get_urls(self):
        adjust = path(
            "<int:wallet_id>/adjust/",
            self.admin_site.admin_view(self.adjust_view),
            name="billing_wallet_adjust",
        )
        return [adjust, *super().get_urls()]

    def adjust_view(self, request: HttpRequest, wallet_id: int) -> HttpResponse:
        """A credit or deduction with a required staff note, recorded with the acting admin;
        a large one asks to be confirmed first (``ADJUSTMENT_CONFIRM_ABOVE_USD``)."""
        wallet = get_object_or_404(Wallet.objects.select_related("organization"), pk=wallet_id)
        if not self.has_change_permission(request, wallet):
            raise PermissionDenied
        if request.method != "POST":
            return self.adjust_page(request, wallet, AdjustForm())
        if "_edit" in request.POST:  # back from the confirmation, to change something
            data = request.POST.copy()
            data.pop("confirmed_amount", None)
            return self.adjust_page(request, wallet, AdjustForm(data))
        form = AdjustForm(request.POST)
        if not form.is_valid():
            return self.adjust_page(request, wallet, form)
        if form.needs_confirmation():
            return self.adjust_page(request, wallet, form, confirming=True)
        amount, reason = form.cleaned_data["amount"], form.cleaned_data["reason"]
        try:
            posted = admin_adjust(
                wallet.organization_id,
                amount,
                reason=reason,
                note=form.cleaned_data["note"],
                actor=request.user,
                idempotency_key=f"adjust:{form.cleaned_data['token']}",
            )
        except BillingError as exc:
            form.add_error("amount", exc.message)
            return self.adjust_page(request, wallet, form)
        if posted.created:
            self.log_change(request, wallet, f"Adjusted by {exact_usd(amount)}: {reason}")
            done = f"{'Credited' if amount > 0 else 'Deducted'} {exact_usd(abs(amount))}"
        else:
            done = "This adjustment was already recorded"
        self.message_user(
            request,
            f"{done}; the balance of {wallet.holder} is {exact_usd(posted.entry.balance_after_usd)}.",
            messages.SUCCESS,
        )
        return redirect("admin:billing_wallet_change", wallet.pk)

    def adjust_page(
        self, request: HttpRequest, wallet: Wallet, form: AdjustForm, confirming: bool = False
    ) -> HttpResponse:
        """The form, or its second step: "Credit $1,000,000,000.00 to …?" for a large amount."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "wallet": wallet,
            "form": form,
            "title": f"Adjust the balance of {wallet.holder}",
        }
        if confirming:
            amount = form.cleaned_data["amount"]
            context.update(
                confirming=True,
                credit=amount > 0,
                amount_text=exact_usd(abs(amount)),
                balance_after=exact_usd(wallet.balance_usd + amount),
                threshold=format_usd(settings.ADJUSTMENT_CONFIRM_ABOVE_USD),
                confirmed_amount=plain(amount),
            )
        return TemplateResponse(request, "billing/admin_adjust.html", context)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "organization",
        "kind",
        "amount_usd_display",
        "balance_after_usd_display",
        "description",
        "staff_note",
        "actor",
        "request_id",
    )
    list_filter = ("kind", "created_at", ("actor", admin.RelatedOnlyFieldListFilter))
    search_fields = (
        "wallet__organization__name",
        "actor__email",
        "idempotency_key",
        "request_id",
        "description",
        "staff_note",
    )
    list_select_related = ("wallet__organization", "actor")
    show_full_result_count = False  # the ledger grows without bound
    amount_usd_display = money_column("amount_usd", "amount (USD)")
    balance_after_usd_display = money_column("balance_after_usd", "balance after (USD)")

    @admin.display(ordering="wallet__organization__name")
    def organization(self, entry: LedgerEntry):
        return entry.wallet.organization


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    amount_usd_display = money_column("amount_usd", "amount (USD)", cost=True)
    list_display = (
        "request_id",
        "organization",
        "amount_usd_display",
        "status",
        "created_at",
        "expires_at",
        "closed_at",
    )
    list_filter = ("status", "created_at")
    search_fields = ("request_id", "wallet__organization__name")
    list_select_related = ("wallet__organization",)
    show_full_result_count = False

    @admin.display(ordering="wallet__organization__name")
    def organization(self, hold: Hold):
        return hold.wallet.organization


class RedemptionCodeInline(admin.TabularInline):
    model = RedemptionCode
    fields = ("code", "redeemed_by", "redeemed_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def csv_cell(value: object) -> str:
    """No formula injection when the file is opened in a spreadsheet."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@admin.register(RedemptionBatch)
class RedemptionBatchAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "amount_usd_display",
        "count",
        "redeemed",
        "expires_at",
        "created_by",
        "created_at",
    )
    list_filter = ("created_at", "expires_at")
    search_fields = ("note", "codes__code")
    inlines = (RedemptionCodeInline,)
    actions = ("export_csv",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("created_by")
            .annotate(redeemed_count=Count("codes", filter=Q(codes__redeemed_at__isnull=False)))
        )

    amount_usd_display = money_column("amount_usd", "amount (USD)")

    @admin.display(ordering="redeemed_count")
    def redeemed(self, batch: RedemptionBatch) -> int:
        return batch.redeemed_count

    @admin.display(description="codes")
    def all_codes(self, batch: RedemptionBatch) -> str:
        """Every code of the batch, one per line, ready to copy (the CSV has who used which)."""
        codes = batch.codes.values_list("code", flat=True)
        return format_html(
            '<textarea readonly rows="{}" cols="24" aria-label="Codes of batch {}" '
            'data-testid="batch-codes">{}</textarea>',
            min(batch.count, 12),
            batch.pk,
            "\n".join(codes),
        )

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        if obj is None:
            kwargs["form"] = RedemptionBatchForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj=None):
        if obj is None:
            return ("amount_usd", "count", "expires_at", "note")
        return (
            "amount_usd",
            "count",
            "expires_at",
            "note",
            "created_by",
            "created_at",
            "all_codes",
        )

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # A batch's codes exist already: only its expiry (to end it early) and note change.
        return ("amount_usd", "count", "created_by", "created_at", "all_codes") if obj else ()

    def get_inlines(self, request: HttpRequest, obj=None):
        return self.inlines if obj else ()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: RedemptionBatch, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        obj.created_by = request.user
        create_redemption_batch(obj)

    def response_add(self, request: HttpRequest, obj: RedemptionBatch, post_url_continue=None):
        """Straight to the new batch's page, where its codes are listed to copy."""
        if "_addanother" in request.POST or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request,
            f"Generated {obj.count} codes worth {format_usd(obj.amount_usd)} each; they are "
            "listed below. “Export codes as CSV” on the batch list downloads them with who "
            "redeemed which.",
            messages.SUCCESS,
        )
        return redirect("admin:billing_redemptionbatch_change", obj.pk)

    @admin.action(description="Export codes as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="redemption-codes.csv"'
        writer = csv.writer(response)
        writer.writerow(
            ["batch", "code", "amount_usd", "expires_at", "note", "redeemed_by", "redeemed_at"]
        )
        codes = (
            RedemptionCode.objects.filter(batch_id__in=list(queryset.values_list("pk", flat=True)))
            .select_related("batch", "redeemed_by")
            .order_by("batch_id", "id")
        )
        for code in codes.iterator(chunk_size=1000):
            batch = code.batch
            writer.writerow(
                [
                    batch.pk,
                    code.code,
                    plain(batch.amount_usd),
                    batch.expires_at.isoformat() if batch.expires_at else "",
                    csv_cell(batch.note),
                    csv_cell(code.redeemed_by.email if code.redeemed_by else ""),
                    code.redeemed_at.isoformat() if code.redeemed_at else "",
                ]
            )
        return response
