"""Organizations in tests: a user's personal organization, whose wallet pays for them."""

from __future__ import annotations

from billing.wallets import current_organization_id


def org_id(user) -> int:
    """The id of ``user``'s personal organization (their wallet's key)."""
    return current_organization_id(user)


def team_project(owner, *members, name: str = "Acme"):
    """An organization ``owner`` owns, with one project "api" all of them are members of,
    and an empty wallet."""
    from accounts.models import (
        Organization,
        OrganizationMember,
        OrganizationRole,
        Project,
        ProjectMember,
    )
    from billing.wallets import ensure_wallet

    org = Organization.objects.create(name=name)
    OrganizationMember.objects.create(organization=org, user=owner, role=OrganizationRole.OWNER)
    for member in members:
        OrganizationMember.objects.create(organization=org, user=member)
    project = Project.objects.create(organization=org, name="api")
    for user in (owner, *members):
        ProjectMember.objects.create(project=project, user=user)
    ensure_wallet(org.pk)
    return project


def key_in(project, owner, **fields):
    """A key of ``owner`` in ``project`` (its snapshot forgotten on save, as any change)."""
    from accounts.keys import issue_key

    issued = issue_key(owner, "team key")
    key = issued.key
    key.project, key.organization = project, project.organization
    for name, value in fields.items():
        setattr(key, name, value)
    key.save()
    key.secret = issued.secret
    return key
