"""Project settings the Admin API does not cover, for the portal: the project's model
allowlist and each member's own monthly cap. (New use cases beside ``projects.py`` and
``project_members.py``, whose signatures stay as they are.)

The allowlist narrows the organization's (a project owner sets it); a member's cap is
money, so only an organization owner sets it: a member cannot raise their own.
"""

from __future__ import annotations

from django.db import transaction

from accounts import audit
from accounts.models import Organization, Project, ProjectMember
from accounts.org_rules import (
    Actor,
    OrgError,
    clean_budget,
    require_active,
    require_org_owner,
    require_project_owner,
)
from accounts.project_members import get_project_member
from accounts.projects import get_project
from catalog.models import Model
from ground.money import plain

MAX_MODELS = 500


def clean_allowlist(organization: Organization, models: object) -> list[str]:
    """Model ids of the catalog, each once, within the organization's own allowlist."""
    if not isinstance(models, list | tuple) or len(models) > MAX_MODELS:
        raise OrgError(f"'allowed_models' must be a list of at most {MAX_MODELS} model ids.")
    chosen = list(dict.fromkeys(models))
    if any(not isinstance(m, str) or not m or "\x00" in m or len(m) > 200 for m in chosen):
        raise OrgError(
            "'allowed_models' holds something that is not a model id.", param="allowed_models"
        )
    known = set(Model.objects.filter(public_id__in=chosen).values_list("public_id", flat=True))
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise OrgError(
            f"Not in the catalog: {', '.join(m[:60] for m in unknown[:5])}.",
            param="allowed_models",
        )
    ceiling = organization.allowed_models or []
    outside = [m for m in chosen if ceiling and m not in ceiling]
    if outside:
        raise OrgError(
            f"Not on the organization's allowlist: {', '.join(outside[:5])}.",
            param="allowed_models",
        )
    return chosen


def set_allowlist(
    actor: Actor, organization: Organization, project_id: str, models: object
) -> Project:
    """The models the project's keys may call (empty: all the organization may use)."""
    chosen = clean_allowlist(organization, models)
    with transaction.atomic():
        project = get_project(organization, project_id, lock=True)
        require_project_owner(project, actor)
        require_active(project)
        before = list(project.allowed_models or [])
        if before != chosen:
            project.allowed_models = chosen
            project.save(update_fields=["allowed_models"])
            audit.record(
                organization,
                "project.updated",
                actor=actor,
                object_id=project.public_id,
                project=project,
                before={"allowed_models": before},
                after={"allowed_models": chosen},
            )
    return project


def set_member_cap(
    actor: Actor, organization: Organization, project_id: str, public_id: str, cap: object
) -> ProjectMember:
    """A member's own monthly cap in the project (``None``: the project's member cap)."""
    amount = clean_budget(cap, "cap_usd")
    with transaction.atomic():
        project = get_project(organization, project_id, lock=True)
        require_org_owner(organization, actor)
        require_active(project)
        member = get_project_member(project, public_id, lock=True)
        if member.cap_usd != amount:
            before = {"cap_usd": None if member.cap_usd is None else plain(member.cap_usd)}
            member.cap_usd = amount
            member.save(update_fields=["cap_usd"])
            audit.record(
                organization,
                "user.updated",
                actor=actor,
                object_id=public_id,
                project=project,
                before={**before, "project_id": project.public_id},
                after={
                    "cap_usd": None if amount is None else plain(amount),
                    "project_id": project.public_id,
                },
            )
    return member
