"""Every user's personal organization and its default project, and where a key belongs.

A user gets a personal organization at sign-up (owner), with a default project (owner);
accounts older than organizations got theirs from migration ``accounts.0006``, which
uses the same rule (``personal_names``). A key made without a project goes to its
owner's personal default project (``place_key``, called before every key's first save).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts.models import (
    ApiKey,
    Organization,
    OrganizationMember,
    OrganizationRole,
    Project,
    ProjectMember,
    ProjectRole,
    User,
)

DEFAULT_PROJECT_NAME = "Default project"


def personal_names(email: str, name: str = "") -> str:
    """The personal organization's name: "Amira's organization", from the name or the address."""
    who = (name or "").strip() or email.split("@")[0]
    return f"{who[:80]}'s organization"


def personal_organization(user: User) -> Organization:
    """The user's personal organization, made with its default project on first use."""
    found = Organization.objects.filter(personal_for=user).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            org = Organization.objects.create(
                name=personal_names(user.email, user.name), personal_for=user
            )
            OrganizationMember.objects.create(
                organization=org, user=user, role=OrganizationRole.OWNER
            )
            project = Project.objects.create(
                organization=org, name=DEFAULT_PROJECT_NAME, is_default=True
            )
            ProjectMember.objects.create(project=project, user=user, role=ProjectRole.OWNER)
            return org
    except IntegrityError:  # made meanwhile by a concurrent first use
        return Organization.objects.get(personal_for=user)


def default_project(organization: Organization) -> Project:
    project = Project.objects.filter(organization=organization, is_default=True).first()
    if project is None:
        project = Project.objects.create(
            organization=organization, name=DEFAULT_PROJECT_NAME, is_default=True
        )
    return project


def place_key(key: ApiKey) -> None:
    """Fill a new key's organization and project: its project's organization, or its
    owner's personal organization and default project when none was named."""
    if key.project_id is not None:
        if key.organization_id is None:
            key.organization_id = Project.objects.values_list("organization_id", flat=True).get(
                pk=key.project_id
            )
        return
    if key.organization_id is None:
        key.organization = personal_organization(key.owner)
    if key.kind != ApiKey.Kind.ADMIN:
        key.project = default_project(key.organization)
