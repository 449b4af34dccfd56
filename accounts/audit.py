"""The audit log: every change to an organization, its members, projects, keys and limits
is one ``AuditLogEntry`` (who, what, before → after), written in the same transaction as
the change. Entries are append-only (the model refuses updates and deletes).

Event types are OpenAI's (``project.created``, ``user.updated``, ``invite.sent``, …) so
the Admin API's ``/organization/audit_logs`` answers in the shape tools expect.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q, QuerySet

from accounts.models import AuditLogEntry, Organization, Project
from accounts.org_rules import Actor, key_public_id, user_pk

# The event types Portico writes (a subset of OpenAI's).
EVENT_TYPES = frozenset(
    {
        "api_key.created",
        "api_key.updated",
        "api_key.deleted",
        "invite.sent",
        "invite.accepted",
        "invite.deleted",
        "project.created",
        "project.updated",
        "project.archived",
        "rate_limit.updated",
        "service_account.created",
        "service_account.deleted",
        "user.added",
        "user.updated",
        "user.deleted",
    }
)


def record(
    organization: Organization,
    type: str,
    *,
    actor: Actor | None,
    object_id: str,
    project: Project | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditLogEntry:
    """Append one entry; call it inside the change's transaction."""
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown audit event type {type!r}")
    return AuditLogEntry.objects.create(
        organization=organization,
        project=project,
        type=type,
        object_id=object_id,
        actor_user=actor.user if actor else None,
        actor_email=actor.email if actor else "",
        actor_api_key=actor.api_key if actor else None,
        actor_ip=actor.ip if actor else None,
        before=before or {},
        after=after or {},
    )


def entries(
    organization: Organization,
    *,
    effective_at: dict[str, datetime] | None = None,
    project_ids: Iterable[str] = (),
    event_types: Iterable[str] = (),
    actor_ids: Iterable[str] = (),
    actor_emails: Iterable[str] = (),
    resource_ids: Iterable[str] = (),
) -> QuerySet[AuditLogEntry]:
    """The organization's entries, newest first, narrowed by OpenAI's filters.
    ``effective_at``: ``{"gt"|"gte"|"lt"|"lte": datetime}``. ``actor_ids``: people
    (``user-…``) or keys (``key_…``)."""
    found = AuditLogEntry.objects.filter(organization=organization).select_related(
        "project", "actor_api_key__service_account"
    )
    for operator, moment in (effective_at or {}).items():
        found = found.filter(**{f"effective_at__{operator}": moment})
    if project_ids := list(project_ids):
        found = found.filter(project__public_id__in=project_ids)
    if event_types := list(event_types):
        found = found.filter(type__in=event_types)
    if actor_emails := [email.lower() for email in actor_emails]:
        found = found.filter(actor_email__in=actor_emails)
    if actor_ids := list(actor_ids):
        people = [pk for pk in map(user_pk, actor_ids) if pk is not None]
        keys = [value for value in actor_ids if value.startswith("key_")]
        match = Q(actor_user_id__in=people) | Q(
            actor_api_key__pk__in=[int(k[4:]) for k in keys if k[4:].isascii() and k[4:].isdigit()]
        )
        match |= Q(actor_api_key__service_account__public_id__in=actor_ids)
        found = found.filter(match)
    if resource_ids := list(resource_ids):
        found = found.filter(object_id__in=resource_ids)
    return found


def actor_shape(entry: AuditLogEntry) -> dict:
    """OpenAI's ``actor``: an API key (whose person or service account) or a session."""
    person = (
        {"id": f"user-{entry.actor_user_id}", "email": entry.actor_email}
        if entry.actor_user_id
        else None
    )
    key = entry.actor_api_key
    if key is None:
        return {"type": "session", "session": {"user": person, "ip_address": entry.actor_ip}}
    service_account = key.service_account
    return {
        "type": "api_key",
        "api_key": {
            "id": key_public_id(key.pk),
            "type": "service_account" if service_account else "user",
            "user": None if service_account else person,
            "service_account": {"id": service_account.public_id} if service_account else None,
        },
    }
