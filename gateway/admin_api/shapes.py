"""The Admin API's objects, in OpenAI's shapes (the official SDK's
``openai.types.admin.organization`` types), with Portico's extra project fields."""

from __future__ import annotations

from datetime import datetime

from accounts.audit import actor_shape
from accounts.models import (
    ApiKey,
    AuditLogEntry,
    Invite,
    OrganizationMember,
    Project,
    ProjectMember,
    ProjectRateLimit,
    ServiceAccount,
)
from accounts.org_keys import redacted
from accounts.org_rules import key_public_id, user_public_id
from ground.money import plain


def ts(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def money(value) -> str | None:
    return plain(value) if value is not None else None


def project(item: Project) -> dict:
    return {
        "id": item.public_id,
        "object": "organization.project",
        "name": item.name,
        "created_at": ts(item.created_at),
        "archived_at": ts(item.archived_at),
        "status": item.status,
        # Portico's own: exact USD as decimal strings, null for none.
        "monthly_budget_usd": money(item.monthly_budget_usd),
        "daily_budget_usd": money(item.daily_budget_usd),
        "member_cap_usd": money(item.member_cap_usd),
        "is_default": item.is_default,
    }


def user(member: OrganizationMember) -> dict:
    return {
        "id": user_public_id(member.user_id),
        "object": "organization.user",
        "name": member.user.name or member.user.email.split("@")[0],
        "email": member.user.email,
        "role": member.role,
        "added_at": ts(member.created_at),
    }


def project_user(member: ProjectMember) -> dict:
    return {
        "id": user_public_id(member.user_id),
        "object": "organization.project.user",
        "name": member.user.name or member.user.email.split("@")[0],
        "email": member.user.email,
        "role": member.role,
        "added_at": ts(member.created_at),
        "cap_usd": money(member.cap_usd),
    }


def invite(item: Invite) -> dict:
    return {
        "id": item.public_id,
        "object": "organization.invite",
        "email": item.email,
        "role": item.role,
        "status": item.status,
        "created_at": ts(item.created_at),
        "expires_at": ts(item.expires_at),
        "accepted_at": ts(item.accepted_at),
        "projects": item.projects,
    }


def service_account(item: ServiceAccount) -> dict:
    return {
        "id": item.public_id,
        "object": "organization.project.service_account",
        "name": item.name,
        "role": item.role,
        "created_at": ts(item.created_at),
    }


def project_api_key(key: ApiKey) -> dict:
    if key.service_account is not None:
        owner = {"type": "service_account", "service_account": service_account(key.service_account)}
    else:
        person = key.owner
        owner = {
            "type": "user",
            "user": {
                "id": user_public_id(person.pk),
                "object": "organization.project.user",
                "name": person.name or person.email.split("@")[0],
                "email": person.email,
                "created_at": ts(person.date_joined),
                "role": "member",
            },
        }
    return {
        "id": key_public_id(key.pk),
        "object": "organization.project.api_key",
        "name": key.name,
        "redacted_value": redacted(key),
        "created_at": ts(key.created_at),
        "last_used_at": ts(key.last_used_at),
        "expires_at": ts(key.expires_at),
        "owner": owner,
        "owner_project_access": "active",
    }


def admin_api_key(key: ApiKey) -> dict:
    person = key.owner
    return {
        "id": key_public_id(key.pk),
        "object": "organization.admin_api_key",
        "name": key.name,
        "redacted_value": redacted(key),
        "created_at": ts(key.created_at),
        "last_used_at": ts(key.last_used_at),
        "expires_at": ts(key.expires_at),
        "owner": {
            "type": "user",
            "object": "organization.user",
            "id": user_public_id(person.pk),
            "name": person.name or person.email.split("@")[0],
            "created_at": ts(person.date_joined),
            "role": "owner",
        },
    }


def rate_limit(item: ProjectRateLimit) -> dict:
    return {
        "id": item.public_id,
        "object": "project.rate_limit",
        "model": item.model,
        "max_requests_per_1_minute": item.max_requests_per_1_minute,
        "max_tokens_per_1_minute": item.max_tokens_per_1_minute,
        "max_requests_per_1_day": item.max_requests_per_1_day,
    }


# OpenAI puts an event's details under its type: "changes_requested" for updates, "data"
# for what was made; Portico adds the whole before → after.
UPDATES = {"project.updated", "user.updated", "rate_limit.updated", "api_key.updated"}


def audit_entry(entry: AuditLogEntry) -> dict:
    details: dict = {"id": entry.object_id}
    if entry.type in UPDATES:
        details["changes_requested"] = entry.after
    elif entry.after:
        details["data"] = entry.after
    return {
        "id": entry.public_id,
        "object": "organization.audit_log",
        "type": entry.type,
        "effective_at": ts(entry.effective_at),
        "actor": actor_shape(entry),
        "project": {"id": entry.project.public_id, "name": entry.project.name}
        if entry.project
        else None,
        entry.type: details,
        "before": entry.before,
        "after": entry.after,
    }
