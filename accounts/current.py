"""The organization a portal session works in, and what its person may see there.

The choice is kept in the session (``request.session["organization"]`` = public id);
without one, or once the person is no longer a member, it is their personal
organization. Every organization page asks ``current_organization(request)``.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import (
    Organization,
    OrganizationMember,
    OrganizationRole,
    Project,
)
from accounts.org_rules import id_shape, not_found, org_role
from accounts.organizations import personal_organization

SESSION_KEY = "organization"
public_id = id_shape  # the pages' name for it


def memberships(user) -> list[OrganizationMember]:
    """The organizations ``user`` belongs to, their personal one first."""
    found = OrganizationMember.objects.filter(user=user).select_related("organization")
    return sorted(
        found,
        key=lambda m: (m.organization.personal_for_id != user.pk, m.organization.name.lower()),
    )


def current_organization(request: HttpRequest) -> Organization:
    """The session's organization if its person is still a member, else their personal one."""
    cached = getattr(request, "_current_organization", None)
    if cached is not None:
        return cached
    user = request.user
    chosen = public_id(request.session.get(SESSION_KEY))
    organization = None
    if chosen:
        organization = Organization.objects.filter(public_id=chosen, members__user=user).first()
    if organization is None:
        organization = personal_organization(user)
        if chosen:
            request.session.pop(SESSION_KEY, None)
    request._current_organization = organization
    return organization


def current_role(request: HttpRequest) -> str | None:
    return org_role(current_organization(request), request.user)


def switch_organization(request: HttpRequest, organization_id: object) -> Organization | None:
    """Work in ``public_id`` from now on; ``None`` (nothing changed) unless a member."""
    wanted = public_id(organization_id)
    if not wanted:
        return None
    organization = Organization.objects.filter(public_id=wanted, members__user=request.user).first()
    if organization is not None:
        request.session[SESSION_KEY] = organization.public_id
        request._current_organization = organization
    return organization


def visible_projects(
    organization: Organization, user, *, include_archived: bool = False
) -> QuerySet[Project]:
    """The projects ``user`` may see: all of them for an owner, else those they belong to."""
    found = Project.objects.filter(organization=organization)
    if org_role(organization, user) != OrganizationRole.OWNER:
        found = found.filter(members__user=user)
    if not include_archived:
        found = found.filter(status=Project.Status.ACTIVE)
    return found.order_by("-is_default", "created_at", "id")


def visible_project(organization: Organization, user, project_id: str) -> Project:
    """One project ``user`` may see; any other id (another organization's too) is a 404."""
    wanted = public_id(project_id)
    project = (
        visible_projects(organization, user, include_archived=True).filter(public_id=wanted).first()
    )
    if not wanted or project is None:
        raise not_found("project", wanted or "?", param="project_id")
    return project
