"""A project's per-model rate limits (OpenAI's ``project.rate_limit``): one row per model
of the catalog, made when first listed, with no limit until set. Only a project owner
(or an organization owner) sets them. Enforcing them is the gateway's rate limiter's."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from accounts import audit
from accounts.models import Organization, Project, ProjectRateLimit
from accounts.org_rules import (
    Actor,
    OrgError,
    id_shape,
    not_found,
    require_active,
    require_project_owner,
)
from accounts.projects import get_project
from catalog.models import Model

FIELDS = ("max_requests_per_1_minute", "max_tokens_per_1_minute", "max_requests_per_1_day")
LARGEST = 2_000_000_000  # a PositiveIntegerField holds 2**31 - 1


def list_rate_limits(project: Project) -> QuerySet[ProjectRateLimit]:
    """The project's limits, one per catalog model (rows made on first sight)."""
    known = set(ProjectRateLimit.objects.filter(project=project).values_list("model", flat=True))
    missing = [m for m in Model.objects.values_list("public_id", flat=True) if m not in known]
    if missing:
        ProjectRateLimit.objects.bulk_create(
            [ProjectRateLimit(project=project, model=model) for model in missing],
            ignore_conflicts=True,
        )
    return ProjectRateLimit.objects.filter(project=project).order_by("model", "id")


def clean_limits(changes: dict) -> dict:
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise OrgError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    clean = {}
    for field, value in changes.items():
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= LARGEST
        ):
            raise OrgError(
                f"Invalid '{field}': a whole number from 1 to {LARGEST}, or null for none.",
                param=field,
            )
        clean[field] = value
    return clean


def update_rate_limit(
    actor: Actor, organization: Organization, project_id: str, public_id: str, changes: dict
) -> ProjectRateLimit:
    clean = clean_limits(changes)
    with transaction.atomic():
        project = get_project(organization, project_id, lock=True)
        require_project_owner(project, actor)
        require_active(project)
        limit = (
            ProjectRateLimit.objects.select_for_update()
            .filter(project=project, public_id=id_shape(public_id))
            .first()
        )
        if limit is None:
            raise not_found("rate limit", public_id, param="rate_limit_id")
        before = {field: getattr(limit, field) for field in FIELDS}
        for field, value in clean.items():
            setattr(limit, field, value)
        if clean:
            limit.save(update_fields=list(clean))
        after = {field: getattr(limit, field) for field in FIELDS}
        if after != before:
            audit.record(
                organization,
                "rate_limit.updated",
                actor=actor,
                object_id=limit.public_id,
                project=project,
                before={"model": limit.model, **before},
                after={"model": limit.model, **after},
            )
    return limit
