"""An organization's projects: list, find, create, modify (name and budgets), archive.

Budgets are Portico's: ``monthly_budget_usd``, ``daily_budget_usd`` and ``member_cap_usd``
(exact USD, checked by ``org_rules.clean_budget``). Only an organization owner changes
budgets and creates or archives projects; a project owner may rename their project.
The default project (where keys made without a project go) is never archived.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts import audit
from accounts.key_revocation import revoke_all
from accounts.models import ApiKey, Organization, Project, ProjectMember, ProjectRole
from accounts.org_rules import (
    Actor,
    OrgError,
    clean_budget,
    clean_name,
    id_shape,
    not_found,
    require_active,
    require_org_owner,
    require_project_owner,
)
from ground.money import plain

BUDGETS = ("monthly_budget_usd", "daily_budget_usd", "member_cap_usd")


def snapshot(project: Project) -> dict:
    """What the audit log keeps of a project before and after a change."""
    money = {
        field: plain(value) if (value := getattr(project, field)) is not None else None
        for field in BUDGETS
    }
    return {"name": project.name, "status": project.status, **money}


def list_projects(organization: Organization, *, include_archived: bool = False) -> QuerySet:
    found = Project.objects.filter(organization=organization)
    if not include_archived:
        found = found.filter(status=Project.Status.ACTIVE)
    return found.order_by("created_at", "id")


def get_project(organization: Organization, public_id: str, *, lock: bool = False) -> Project:
    """The organization's project ``public_id``; another organization's is a 404 too."""
    found = Project.objects.filter(organization=organization, public_id=id_shape(public_id))
    project = (found.select_for_update() if lock else found).first()
    if project is None:
        raise not_found("project", public_id, param="project_id")
    return project


def create_project(actor: Actor, organization: Organization, name: object, **budgets) -> Project:
    """A new project; its creator becomes its owner. ``budgets``: any of ``BUDGETS``."""
    require_org_owner(organization, actor)
    clean = clean_budgets(budgets)
    project = Project(organization=organization, name=clean_name(name), **clean)
    with transaction.atomic():
        project.save()
        ProjectMember.objects.create(project=project, user=actor.user, role=ProjectRole.OWNER)
        audit.record(
            organization,
            "project.created",
            actor=actor,
            object_id=project.public_id,
            project=project,
            after=snapshot(project),
        )
    return project


def clean_budgets(budgets: dict) -> dict:
    unknown = set(budgets) - set(BUDGETS)
    if unknown:
        raise OrgError(f"Unknown budget field(s): {', '.join(sorted(unknown))}.")
    return {field: clean_budget(value, field) for field, value in budgets.items()}


def modify_project(
    actor: Actor, organization: Organization, public_id: str, changes: dict
) -> Project:
    """Change ``name`` and any of ``BUDGETS`` (``None`` removes a budget); all or nothing."""
    unknown = set(changes) - {"name", *BUDGETS}
    if unknown:
        raise OrgError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    clean = {}
    if "name" in changes:
        clean["name"] = clean_name(changes["name"])
    money = clean_budgets({f: v for f, v in changes.items() if f in BUDGETS})
    with transaction.atomic():
        project = get_project(organization, public_id, lock=True)
        if money:
            require_org_owner(organization, actor)
        else:
            require_project_owner(project, actor)
        require_active(project)
        before = snapshot(project)
        for field, value in {**clean, **money}.items():
            setattr(project, field, value)
        project.save(update_fields=[*clean, *money] or None)
        after = snapshot(project)
        if after != before:
            audit.record(
                organization,
                "project.updated",
                actor=actor,
                object_id=project.public_id,
                project=project,
                before=before,
                after=after,
            )
    return project


def archive_project(actor: Actor, organization: Organization, public_id: str) -> Project:
    """Archived for good (as on OpenAI's platform): its keys are revoked and it can no
    longer be changed."""
    with transaction.atomic():
        project = get_project(organization, public_id, lock=True)
        require_org_owner(organization, actor)
        if project.is_default:
            raise OrgError(
                "The default project cannot be archived: keys made without a project go there.",
                code="default_project",
            )
        if project.is_archived:
            return project
        before = snapshot(project)
        project.status = Project.Status.ARCHIVED
        project.archived_at = timezone.now()
        project.save(update_fields=["status", "archived_at"])
        revoke_all(ApiKey.objects.filter(project=project))
        audit.record(
            organization,
            "project.archived",
            actor=actor,
            object_id=project.public_id,
            project=project,
            before=before,
            after=snapshot(project),
        )
    return project
