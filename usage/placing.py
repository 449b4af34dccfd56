"""Every usage event is placed in an organization and a project before it is recorded and
charged: the wallet that pays and the budgets it counts against."""

from __future__ import annotations

from accounts.models import ApiKey, Organization, Project, User
from accounts.organizations import default_project, personal_organization
from usage.events import UsageEvent


def place_events(events: list[UsageEvent]) -> None:
    """Every event names its organization and project: the key's (an event emitted from
    a job's stored key and owner, by OCR or retrieval, carries only those), else the
    user's personal organization and its default project (key-less session usage). An
    event naming an organization or project deleted since is placed the same way."""
    org_ids = {e.organization_id for e in events} - {None}
    project_ids = {e.project_id for e in events} - {None}
    known_orgs = set(Organization.objects.filter(pk__in=org_ids).values_list("pk", flat=True))
    known_projects = set(Project.objects.filter(pk__in=project_ids).values_list("pk", flat=True))
    unplaced = []
    for event in events:
        if event.project_id not in known_projects:
            event.project_id = None
        if event.organization_id not in known_orgs:
            event.organization_id = event.project_id = None
            unplaced.append(event)
    if not unplaced:
        return
    keys = {
        pk: (org, project)
        for pk, org, project in ApiKey.objects.filter(
            pk__in={e.api_key_id for e in unplaced} - {None}
        ).values_list("pk", "organization_id", "project_id")
    }
    personal = {
        user: (org, project)
        for user, org, project in Project.objects.filter(
            is_default=True, organization__personal_for__in={e.user_id for e in unplaced}
        ).values_list("organization__personal_for_id", "organization_id", "pk")
    }
    for event in unplaced:
        place = keys.get(event.api_key_id) if event.api_key_id else None
        if place is None or place[0] is None:
            place = personal.get(event.user_id)
        if place is None:  # a user older than organizations, never placed: now
            org = personal_organization(User.objects.get(pk=event.user_id))
            place = personal[event.user_id] = (org.pk, default_project(org).pk)
        event.organization_id, event.project_id = place
