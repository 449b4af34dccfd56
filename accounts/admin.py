from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from billing.flows import money
from gateway.admin import AuditedChangesMixin, ModelAllowlistField, catalog_choices


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
        return super().get_queryset(request).select_related("wallet")

    @admin.display(description="wallet (USD)", ordering="wallet__balance_usd")
    def wallet_balance(self, user: User) -> str:
        try:
            return money(user.wallet.balance_usd)
        except ObjectDoesNotExist:
            return "—"
