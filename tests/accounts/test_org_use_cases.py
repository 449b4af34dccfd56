"""The organization use cases (shared by the Admin API and the portal): roles, rules,
validation, audit entries, and nothing half-written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from accounts import audit, invites, org_members, project_members, projects, service_accounts
from accounts.key_secrets import hash_key
from accounts.models import (
    ApiKey,
    AuditLogEntry,
    Invite,
    OrganizationMember,
    OrganizationRole,
    Project,
    ProjectRateLimit,
)
from accounts.org_keys import admin_key_actor, mint_admin_key
from accounts.org_rules import Actor, OrgError, user_public_id
from accounts.organizations import personal_organization
from accounts.rate_limits import list_rate_limits, update_rate_limit
from catalog.models import Model

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(alice):
    return personal_organization(alice)


@pytest.fixture
def owner(alice):
    return Actor(user=alice)


def join(org, user, role=OrganizationRole.READER):
    return OrganizationMember.objects.create(organization=org, user=user, role=role)


def test_an_owner_creates_a_project_with_exact_budgets_and_it_is_audited(org, owner):
    project = projects.create_project(
        owner, org, "Research", monthly_budget_usd="12.345", member_cap_usd=5
    )
    project.refresh_from_db()
    assert project.monthly_budget_usd == Decimal("12.345") and project.member_cap_usd == 5
    entry = AuditLogEntry.objects.get(type="project.created")
    assert entry.actor_user == owner.user and entry.object_id == project.public_id
    assert entry.after["monthly_budget_usd"] == "12.345"


@pytest.mark.parametrize(
    "value", ["-1", -1, "1e309", "NaN", "Infinity", "abc", 1.5, "100000001", "0.00000000001"]
)
def test_a_bad_budget_is_refused_and_nothing_is_written(org, owner, value):
    before = Project.objects.count()
    with pytest.raises(OrgError) as caught:
        projects.create_project(owner, org, "P", daily_budget_usd=value)
    assert caught.value.status == 400 and caught.value.param == "daily_budget_usd"
    assert Project.objects.count() == before and not AuditLogEntry.objects.exists()


@pytest.mark.parametrize("name", ["", "   ", "a\x00b", "x" * 101, 5, None, "tab\there"])
def test_a_bad_name_is_refused(org, owner, name):
    with pytest.raises(OrgError) as caught:
        projects.create_project(owner, org, name)
    assert caught.value.status == 400 and caught.value.param == "name"


def test_a_reader_cannot_create_or_change_projects(org, owner, bob):
    join(org, bob)
    reader = Actor(user=bob)
    with pytest.raises(OrgError) as caught:
        projects.create_project(reader, org, "Mine")
    assert caught.value.status == 403
    project = projects.create_project(owner, org, "Theirs")
    with pytest.raises(OrgError):
        projects.modify_project(reader, org, project.public_id, {"name": "x"})


def test_a_project_owner_renames_but_cannot_raise_budgets(org, owner, bob):
    join(org, bob)
    project = projects.create_project(owner, org, "P", monthly_budget_usd="10")
    project_members.add_project_member(
        owner, org, project.public_id, user_public_id(bob.pk), "owner"
    )
    lead = Actor(user=bob)
    projects.modify_project(lead, org, project.public_id, {"name": "Renamed"})
    with pytest.raises(OrgError) as caught:
        projects.modify_project(lead, org, project.public_id, {"member_cap_usd": "99"})
    assert caught.value.status == 403
    project.refresh_from_db()
    assert project.name == "Renamed" and project.member_cap_usd is None


def test_modify_is_all_or_nothing(org, owner):
    project = projects.create_project(owner, org, "P")
    with pytest.raises(OrgError):
        projects.modify_project(
            owner, org, project.public_id, {"name": "New", "daily_budget_usd": "-1"}
        )
    project.refresh_from_db()
    assert project.name == "P"


def test_another_organizations_project_is_not_found(org, owner, bob):
    theirs = projects.create_project(Actor(user=bob), personal_organization(bob), "Bob's")
    with pytest.raises(OrgError) as caught:
        projects.modify_project(owner, org, theirs.public_id, {"name": "mine now"})
    assert caught.value.status == 404


def test_archiving_revokes_the_projects_keys_and_the_default_project_stays(org, owner):
    project = projects.create_project(owner, org, "P")
    _, issued = service_accounts.create_service_account(owner, org, project.public_id, "bot")
    projects.archive_project(owner, org, project.public_id)
    issued.key.refresh_from_db()
    assert issued.key.revoked_at is not None
    with pytest.raises(OrgError):
        projects.modify_project(owner, org, project.public_id, {"name": "x"})
    default = Project.objects.get(organization=org, is_default=True)
    with pytest.raises(OrgError):
        projects.archive_project(owner, org, default.public_id)


def test_the_last_owner_can_neither_leave_nor_become_a_reader(org, owner, alice, bob):
    with pytest.raises(OrgError) as caught:
        org_members.change_role(owner, org, user_public_id(alice.pk), "reader")
    assert caught.value.code == "last_owner"
    join(org, bob, OrganizationRole.OWNER)
    org_members.change_role(owner, org, user_public_id(bob.pk), "reader")
    with pytest.raises(OrgError) as caught:
        org_members.change_role(owner, org, user_public_id(bob.pk), "admin")
    assert caught.value.code == "invalid_role"


def test_removing_a_member_revokes_their_keys_but_not_service_accounts(org, owner, bob):
    join(org, bob, OrganizationRole.OWNER)
    project = projects.create_project(owner, org, "P")
    _, bots_key = service_accounts.create_service_account(
        Actor(user=bob), org, project.public_id, "bot"
    )
    admin = mint_admin_key(Actor(user=bob), org, "bob's admin key")
    org_members.remove_member(owner, org, user_public_id(bob.pk))
    admin.key.refresh_from_db()
    bots_key.key.refresh_from_db()
    assert admin.key.revoked_at is not None and bots_key.key.revoked_at is None
    assert AuditLogEntry.objects.filter(type="user.deleted").count() == 1


def test_an_admin_key_stops_acting_once_its_owner_is_a_reader(org, owner, bob):
    join(org, bob, OrganizationRole.OWNER)
    issued = mint_admin_key(Actor(user=bob), org, "k")
    assert issued.secret.startswith("sk-admin-") and issued.key.hashed_key == hash_key(
        issued.secret
    )
    assert admin_key_actor(issued.key.pk)[1] == org
    OrganizationMember.objects.filter(user=bob).update(role="reader")
    with pytest.raises(OrgError) as caught:
        admin_key_actor(issued.key.pk)
    assert caught.value.status == 403


def test_a_reader_cannot_mint_admin_keys(org, bob):
    join(org, bob)
    with pytest.raises(OrgError):
        mint_admin_key(Actor(user=bob), org, "k")
    assert not ApiKey.objects.filter(kind=ApiKey.Kind.ADMIN).exists()


def test_an_invite_is_mailed_with_its_link_and_accepted_by_its_address(
    org, owner, bob, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://portico.example"
    project = projects.create_project(owner, org, "P")
    with django_capture_on_commit_callbacks(execute=True):
        invite = invites.create_invite(
            owner, org, "Bob@Example.com", "reader", [{"id": project.public_id, "role": "owner"}]
        )
    assert invite.email == "bob@example.com" and len(mail.outbox) == 1
    link = next(w for w in mail.outbox[0].body.split() if "/invites/" in w)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert token not in str(vars(invite))
    invites.accept_invite(token, bob)
    assert OrganizationMember.objects.get(organization=org, user=bob).role == "reader"
    assert project.members.get(user=bob).role == "owner"
    with pytest.raises(OrgError):
        invites.accept_invite(token, bob)


@pytest.mark.parametrize(
    ("email", "role", "code"),
    [
        ("not-an-address", "reader", "invalid_email"),
        ("a\x00@example.com", "reader", "invalid_email"),
        ("carol@example.com", "admin", "invalid_role"),
        ("alice@example.com", "reader", "already_member"),
    ],
)
def test_bad_invites_are_refused(org, owner, email, role, code):
    with pytest.raises(OrgError) as caught:
        invites.create_invite(owner, org, email, role)
    assert caught.value.code == code
    assert not Invite.objects.exists() and not AuditLogEntry.objects.exists()


def test_an_invite_to_another_organizations_project_is_not_found(org, owner, bob):
    theirs = projects.create_project(Actor(user=bob), personal_organization(bob), "B")
    with pytest.raises(OrgError) as caught:
        invites.create_invite(
            owner, org, "c@example.com", "reader", [{"id": theirs.public_id, "role": "member"}]
        )
    assert caught.value.status == 404


def test_rate_limits_are_listed_per_model_and_set_by_a_project_owner(org, owner, bob):
    Model.objects.create(public_id="m1", type="llm")
    project = projects.create_project(owner, org, "P")
    (limit,) = list_rate_limits(project)
    changed = update_rate_limit(
        owner, org, project.public_id, limit.public_id, {"max_requests_per_1_minute": 7}
    )
    assert changed.max_requests_per_1_minute == 7
    with pytest.raises(OrgError):
        update_rate_limit(
            owner, org, project.public_id, limit.public_id, {"max_tokens_per_1_minute": -1}
        )
    join(org, bob)
    project_members.add_project_member(
        owner, org, project.public_id, user_public_id(bob.pk), "member"
    )
    with pytest.raises(OrgError) as caught:
        update_rate_limit(Actor(user=bob), org, project.public_id, limit.public_id, {})
    assert caught.value.status == 403
    assert ProjectRateLimit.objects.get().max_requests_per_1_minute == 7


def test_audit_entries_filter_and_cannot_be_changed(org, owner):
    project = projects.create_project(owner, org, "P")
    projects.modify_project(owner, org, project.public_id, {"name": "Q"})
    assert [e.type for e in audit.entries(org, event_types=["project.updated"])] == [
        "project.updated"
    ]
    entry = audit.entries(org, resource_ids=[project.public_id]).first()
    assert audit.entries(org, actor_emails=["ALICE@example.com"]).count() == 2
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()


def test_staff_cannot_edit_or_delete_an_audit_entry_in_the_admin(org, owner, admin_client):
    projects.create_project(owner, org, "P")
    entry = AuditLogEntry.objects.get()
    change = f"/admin/accounts/auditlogentry/{entry.pk}/change/"
    assert admin_client.get(change).status_code == 200  # readable
    assert admin_client.post(change, {"type": "forged"}).status_code == 403
    delete = f"/admin/accounts/auditlogentry/{entry.pk}/delete/"
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    bulk = admin_client.post(
        "/admin/accounts/auditlogentry/",
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302, 403)
    entry.refresh_from_db()
    assert entry.type == "project.created" and AuditLogEntry.objects.count() == 1


def test_only_an_organization_owner_sets_a_members_cap(org, owner, bob):
    join(org, bob)
    project = projects.create_project(owner, org, "P", member_cap_usd="5")
    bob_id = user_public_id(bob.pk)
    project_members.add_project_member(owner, org, project.public_id, bob_id, "owner")
    lead = Actor(user=bob)
    with pytest.raises(OrgError) as caught:  # a project owner raising their own cap
        project_members.modify_project_member(
            lead, org, project.public_id, bob_id, {"cap_usd": "50"}
        )
    assert caught.value.status == 403
    with pytest.raises(OrgError) as caught:
        project_members.modify_project_member(
            owner, org, project.public_id, bob_id, {"cap_usd": "-1"}
        )
    assert caught.value.param == "cap_usd"
    member = project_members.modify_project_member(
        owner, org, project.public_id, bob_id, {"cap_usd": "2.75"}
    )
    member.refresh_from_db()
    assert member.cap_usd == Decimal("2.75")
    entry = AuditLogEntry.objects.filter(type="user.updated").get()
    assert (entry.before["cap_usd"], entry.after["cap_usd"]) == (None, "2.75")
