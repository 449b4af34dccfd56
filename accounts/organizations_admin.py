"""Admin for organizations, projects and their audit log (site staff's powers): each
organization's and project's allowlist and limits, members and roles, budgets and caps.
Audit log entries are shown, never added, changed or deleted here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from accounts.models import (
    AuditLogEntry,
    Invite,
    Organization,
    OrganizationMember,
    Project,
    ProjectMember,
    ProjectRateLimit,
    ServiceAccount,
)
from catalog.fields import ModelAllowlistField, catalog_choices
from ground.admin import AuditedChangesMixin


class AllowlistForm(forms.ModelForm):
    allowed_models = ModelAllowlistField(
        label="Allowed models", help_text="None chosen: every model the level above allows."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "allowed_models" in self.fields:
            self.fields["allowed_models"].choices = catalog_choices(self.instance.allowed_models)

    def clean(self) -> dict:
        data = super().clean()
        for field in ("monthly_budget_usd", "daily_budget_usd", "member_cap_usd"):
            value = data.get(field)
            if value is not None and value < 0:
                self.add_error(field, "A budget cannot be negative.")
        return data


class OrganizationMemberInline(admin.TabularInline):
    model = OrganizationMember
    extra = 0
    autocomplete_fields = ("user",)


class ProjectInline(admin.TabularInline):
    model = Project
    extra = 0
    fields = ("name", "status", "is_default", "monthly_budget_usd", "member_cap_usd")
    show_change_link = True


@admin.register(Organization)
class OrganizationAdmin(AuditedChangesMixin, admin.ModelAdmin):
    form = AllowlistForm
    list_display = ("name", "public_id", "personal_for", "created_at")
    search_fields = ("name", "public_id", "personal_for__email", "members__user__email")
    readonly_fields = ("public_id", "personal_for", "created_at")
    fields = (
        "name",
        "public_id",
        "personal_for",
        "allowed_models",
        "rpm_limit",
        "tpm_limit",
        "rpd_limit",
        "created_at",
    )
    inlines = (OrganizationMemberInline, ProjectInline)
    audited_fields = ("allowed_models", "rpm_limit", "tpm_limit", "rpd_limit")


class ProjectMemberInline(admin.TabularInline):
    model = ProjectMember
    extra = 0
    autocomplete_fields = ("user",)


class ProjectRateLimitInline(admin.TabularInline):
    model = ProjectRateLimit
    extra = 0
    fields = (
        "model",
        "max_requests_per_1_minute",
        "max_tokens_per_1_minute",
        "max_requests_per_1_day",
    )


class ServiceAccountInline(admin.TabularInline):
    model = ServiceAccount
    extra = 0
    fields = ("name", "role", "created_by", "created_at")
    readonly_fields = ("created_by", "created_at")


@admin.register(Project)
class ProjectAdmin(AuditedChangesMixin, admin.ModelAdmin):
    form = AllowlistForm
    list_display = ("name", "organization", "status", "monthly_budget_usd", "member_cap_usd")
    list_filter = ("status",)
    search_fields = ("name", "public_id", "organization__name")
    readonly_fields = ("public_id", "created_at", "archived_at")
    fields = (
        "organization",
        "name",
        "public_id",
        "status",
        "archived_at",
        "allowed_models",
        "monthly_budget_usd",
        "daily_budget_usd",
        "member_cap_usd",
        "created_at",
    )
    inlines = (ProjectMemberInline, ProjectRateLimitInline, ServiceAccountInline)
    audited_fields = ("allowed_models", "monthly_budget_usd", "daily_budget_usd", "member_cap_usd")


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = ("email", "organization", "role", "created_at", "expires_at", "accepted_at")
    search_fields = ("email", "organization__name")
    readonly_fields = tuple(
        f.name for f in Invite._meta.fields if f.name not in ("id", "hashed_token")
    )
    exclude = ("hashed_token",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(admin.ModelAdmin):
    """Read-only: no add, change or delete, for staff as for everyone."""

    list_display = ("effective_at", "organization", "type", "object_id", "actor_email")
    list_filter = ("type",)
    search_fields = ("organization__name", "object_id", "actor_email", "type")
    readonly_fields = tuple(f.name for f in AuditLogEntry._meta.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
