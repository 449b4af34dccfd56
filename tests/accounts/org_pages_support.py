"""Shared setup of the organization page tests: alice owns an organization ("Acme")
with a project; bob is a reader there and a member of that project; charlie has only
his own organization, whose ids must be 404s for alice and bob."""

from __future__ import annotations

from accounts import projects
from accounts.models import OrganizationMember, OrganizationRole, ProjectMember, ProjectRole
from accounts.org_rules import Actor
from accounts.organizations import personal_organization


def acme(alice, bob):
    org = personal_organization(alice)
    research = projects.create_project(Actor(user=alice), org, "Research", monthly_budget_usd="50")
    OrganizationMember.objects.create(organization=org, user=bob, role=OrganizationRole.READER)
    ProjectMember.objects.create(project=research, user=bob, role=ProjectRole.MEMBER)
    return org, research


def work_in(client, org) -> None:
    """Point the client's session at ``org`` through the switcher."""
    response = client.post("/organization/switch/", {"organization": org.public_id, "next": "/"})
    assert response.status_code == 302, response.status_code
