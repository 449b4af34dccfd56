"""A person's key in a project, minted from the portal's Keys page (a new use case beside
``keys.issue_key``, whose signature stays as it is).

Only a member of the project (its owner or a member; an organization owner owns every
project) mints a key there, in an active project; the key's models must be within the
project's allowlist. The audit log records it as OpenAI's ``api_key.created``.
"""

from __future__ import annotations

from django.db import transaction

from accounts import audit
from accounts.key_rules import KeyError_
from accounts.keys import IssuedKey, issue_key
from accounts.models import ApiKey, Organization
from accounts.org_rules import Actor, OrgError, key_public_id, project_role, require_active
from accounts.projects import get_project


def issue_project_key(
    actor: Actor, organization: Organization, project_id: str, name: str, **options
) -> IssuedKey:
    """``options``: those of ``keys.issue_key``. Raises ``OrgError`` or ``KeyError_``."""
    with transaction.atomic():
        project = get_project(organization, project_id, lock=True)
        if project_role(project, actor.user) is None:
            raise OrgError(
                "Only a member of the project may make keys in it.",
                kind="forbidden",
                param="project",
            )
        require_active(project)
        ceiling = project.allowed_models or []
        outside = [m for m in options.get("models") or [] if ceiling and m not in ceiling]
        if outside:
            raise KeyError_(f"Not on the project's allowlist: {', '.join(outside)}.")
        issued = issue_key(actor.user, name, **options)
        key = issued.key
        # issue_key placed it in the personal default project; it belongs here instead.
        ApiKey.objects.filter(pk=key.pk).update(organization=organization, project=project)
        key.organization, key.project = organization, project
        audit.record(
            organization,
            "api_key.created",
            actor=actor,
            object_id=key_public_id(key.pk),
            project=project,
            after={"name": key.name, "kind": key.kind, "scopes": key.scopes},
        )
    return issued
