"""A project's model allowlist, which the Admin API does not cover, for the portal (a
new use case beside ``projects.py``, whose signatures stay as they are). It narrows the
organization's allowlist; a project owner sets it."""

from __future__ import annotations

from django.db import transaction

from accounts import audit
from accounts.models import Organization, Project
from accounts.org_rules import (
    Actor,
    OrgError,
    require_active,
    require_project_owner,
)
from accounts.projects import get_project
from catalog.models import Model

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
