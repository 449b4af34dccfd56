"""The Projects, Keys-per-project and Audit log pages through the real views: who may
see and change what, another organization's ids 404, hostile input refused with the use
case's message and nothing written."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import pytest

from accounts.models import (
    ApiKey,
    AuditLogEntry,
    Project,
    ProjectMember,
    ProjectRateLimit,
    ServiceAccount,
)
from accounts.org_rules import user_public_id
from accounts.organizations import personal_organization
from catalog.models import Model
from tests.accounts.org_pages_support import acme, work_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(alice, bob):
    Model.objects.create(public_id="portico/test-chat")
    Model.objects.create(public_id="portico/other-chat")
    return acme(alice, bob)


def as_user(client, user, org):
    client.force_login(user)
    work_in(client, org)
    return client


def project_url(project) -> str:
    return f"/organization/projects/{project.public_id}/"


def test_an_owner_creates_a_project_with_budgets_and_a_member_cap(client, org, alice):
    acme_org, _ = org
    as_user(client, alice, acme_org)
    response = client.post(
        "/organization/projects/",
        {"name": "Search", "monthly_budget_usd": "20", "member_cap_usd": "2.50"},
    )
    assert response.status_code == HTTPStatus.FOUND
    project = Project.objects.get(name="Search")
    assert project.monthly_budget_usd == Decimal("20") and project.member_cap_usd == Decimal("2.5")
    assert project.daily_budget_usd is None
    assert response["Location"] == project_url(project)
    assert AuditLogEntry.objects.filter(type="project.created", object_id=project.public_id)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "A\x00B"}, "control characters"),
        ({"name": "   "}, "may not be blank"),
        ({"name": "x" * 101}, "at most 100"),
        ({"name": "Ok", "monthly_budget_usd": "-1"}, "cannot be negative"),
        ({"name": "Ok", "monthly_budget_usd": "1e309"}, "monthly_budget_usd"),
        ({"name": "Ok", "daily_budget_usd": "NaN"}, "not a finite amount"),
        ({"name": "Ok", "member_cap_usd": "١٢"}, "member_cap_usd"),
        ({"name": "Ok", "member_cap_usd": "0.00000000001"}, "decimal places"),
    ],
)
def test_a_bad_project_is_refused_and_nothing_is_written(client, org, alice, data, message):
    acme_org, _ = org
    as_user(client, alice, acme_org)
    before = Project.objects.count()
    response = client.post("/organization/projects/", data)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in response.content.decode()
    assert Project.objects.count() == before


def test_a_reader_sees_only_their_projects_and_creates_none(client, org, alice, bob):
    acme_org, _ = org
    hidden = Project.objects.create(organization=acme_org, name="Secret plans")
    as_user(client, bob, acme_org)
    page = client.get("/organization/projects/").content.decode()
    assert "Research" in page and "Secret plans" not in page and "New project" not in page
    assert client.get(project_url(hidden)).status_code == HTTPStatus.NOT_FOUND
    response = client.post("/organization/projects/", {"name": "Mine"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not Project.objects.filter(name="Mine").exists()


def test_a_member_changes_nothing_in_the_project(client, org, alice, bob):
    acme_org, research = org
    as_user(client, bob, acme_org)
    page = client.get(project_url(research)).content.decode()
    assert "Save settings" not in page and "Research" in page
    for data in (
        {"action": "settings", "name": "Mine now"},
        {"action": "settings", "name": "Research", "monthly_budget_usd": "999"},
        {"action": "member_cap", "user_id": user_public_id(bob.pk), "cap_usd": "999"},
        {"action": "allowlist", "allowed_models": ["portico/test-chat"]},
        {"action": "archive"},
        {"action": "service_account", "name": "bot"},
        {"action": "add_member", "user_id": user_public_id(alice.pk), "role": "member"},
    ):
        response = client.post(project_url(research), data)
        assert response.status_code == HTTPStatus.FORBIDDEN, data
    research.refresh_from_db()
    assert research.name == "Research" and research.monthly_budget_usd == Decimal("50")
    assert ProjectMember.objects.get(project=research, user=bob).cap_usd is None
    assert not ServiceAccount.objects.exists()


def test_another_organizations_project_is_a_404_everywhere(client, org, alice, charlie):
    acme_org, _ = org
    theirs = personal_organization(charlie).projects.get()
    as_user(client, alice, acme_org)
    assert client.get(project_url(theirs)).status_code == HTTPStatus.NOT_FOUND
    assert client.post(project_url(theirs), {"action": "archive"}).status_code == 404
    assert client.get("/organization/projects/proj_%00/").status_code == 404
    response = client.post("/keys/", {"project": theirs.public_id, "name": "x", "scopes": ["chat"]})
    assert b"No project with id" in response.content
    assert not ApiKey.objects.filter(name="x").exists()


def test_an_owner_sets_budgets_caps_allowlist_and_limits(client, org, alice, bob):
    acme_org, research = org
    as_user(client, alice, acme_org)
    url = project_url(research)
    ok = client.post(
        url,
        {
            "action": "settings",
            "name": "Research",
            "monthly_budget_usd": "30",
            "daily_budget_usd": "5",
            "member_cap_usd": "",
        },
    )
    assert ok.status_code == HTTPStatus.FOUND
    assert (
        client.post(
            url, {"action": "member_cap", "user_id": user_public_id(bob.pk), "cap_usd": "1.25"}
        ).status_code
        == 302
    )
    assert (
        client.post(
            url, {"action": "allowlist", "allowed_models": ["portico/test-chat"]}
        ).status_code
        == 302
    )
    research.refresh_from_db()
    assert (research.monthly_budget_usd, research.daily_budget_usd) == (Decimal(30), Decimal(5))
    assert research.allowed_models == ["portico/test-chat"]
    assert ProjectMember.objects.get(project=research, user=bob).cap_usd == Decimal("1.25")

    page = client.get(url).content.decode()
    limit = ProjectRateLimit.objects.get(project=research, model="portico/test-chat")
    assert limit.public_id in page
    response = client.post(
        url,
        {
            "action": "rate_limit",
            "rate_limit_id": limit.public_id,
            "max_requests_per_1_minute": "60",
        },
    )
    assert response.status_code == HTTPStatus.FOUND
    limit.refresh_from_db()
    assert limit.max_requests_per_1_minute == 60
    types = set(AuditLogEntry.objects.values_list("type", flat=True))
    assert {"project.updated", "user.updated", "rate_limit.updated"} <= types


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "member_cap", "cap_usd": "-1"}, "cannot be negative"),
        ({"action": "member_cap", "cap_usd": "1e309"}, "cap_usd"),
        ({"action": "member_cap", "cap_usd": "١٢"}, "digits 0-9"),
        ({"action": "settings", "name": "R", "daily_budget_usd": "-0.01"}, "cannot be negative"),
        ({"action": "allowlist", "allowed_models": ["no/such-model"]}, "Not in the catalog"),
        ({"action": "allowlist", "allowed_models": ["a\x00"]}, "not a model id"),
        ({"action": "add_member", "role": "boss"}, "is not one of owner, member"),
        ({"action": "member_role", "role": ""}, "is not one of owner, member"),
        ({"action": "rate_limit", "max_requests_per_1_minute": "١٢"}, "a whole number"),
        ({"action": "rate_limit", "max_tokens_per_1_minute": "0"}, "a whole number"),
        ({"action": "rate_limit", "max_requests_per_1_day": "99999999999999"}, "a whole number"),
        ({"action": "service_account", "name": "bot\x00"}, "control characters"),
        ({"action": "nope"}, "Unknown action"),
    ],
)
def test_hostile_project_settings_are_refused(client, org, alice, bob, data, message):
    acme_org, research = org
    as_user(client, alice, acme_org)
    limit = ProjectRateLimit.objects.create(project=research, model="portico/test-chat")
    data = {"user_id": user_public_id(bob.pk), "rate_limit_id": limit.public_id, **data}
    entries = AuditLogEntry.objects.count()
    response = client.post(project_url(research), data)
    assert response.status_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.CONFLICT)
    assert message in response.content.decode()
    assert AuditLogEntry.objects.count() == entries


def test_a_service_accounts_key_is_shown_once_and_never_cached(client, org, alice):
    acme_org, research = org
    as_user(client, alice, acme_org)
    response = client.post(project_url(research), {"action": "service_account", "name": "ci-bot"})
    assert response.status_code == HTTPStatus.OK
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get(service_account__name="ci-bot")
    assert key.project == research
    text = response.content.decode()
    assert "shown only this once" in text and key.prefix in text
    assert (
        key.prefix + "…" not in client.get(project_url(research)).content.decode().split("Keys")[0]
    )


def test_archiving_revokes_the_projects_keys(client, org, alice):
    acme_org, research = org
    as_user(client, alice, acme_org)
    client.post("/keys/", {"project": research.public_id, "name": "lab", "scopes": ["chat"]})
    key = ApiKey.objects.get(name="lab")
    assert client.post(project_url(research), {"action": "archive"}).status_code == 302
    key.refresh_from_db()
    assert key.is_revoked
    default = Project.objects.get(organization=acme_org, is_default=True)
    response = client.post(project_url(default), {"action": "archive"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "default project cannot be archived" in response.content.decode()


# --- Keys per project ---------------------------------------------------------------------------
def test_a_member_mints_a_key_in_their_project_and_sees_who_made_the_others(
    client, org, alice, bob
):
    acme_org, research = org
    as_user(client, alice, acme_org)
    client.post("/keys/", {"project": research.public_id, "name": "alice-lab", "scopes": ["chat"]})
    client.logout()
    as_user(client, bob, acme_org)
    page = client.get("/keys/").content.decode()
    assert research.public_id in page
    response = client.post(
        "/keys/", {"project": research.public_id, "name": "bob-lab", "scopes": ["chat"]}
    )
    assert response.status_code == HTTPStatus.OK and b"shown only this once" in response.content
    key = ApiKey.objects.get(name="bob-lab")
    assert (key.project, key.organization, key.owner) == (research, acme_org, bob)
    assert AuditLogEntry.objects.filter(type="api_key.created", project=research, actor_user=bob)
    page = client.get("/keys/").content.decode()
    assert "alice-lab" in page and "alice@example.com" in page  # made by, in his project


def test_a_reader_cannot_mint_keys_in_a_project_they_do_not_belong_to(client, org, alice, bob):
    acme_org, _ = org
    hidden = Project.objects.create(organization=acme_org, name="Secret plans")
    as_user(client, bob, acme_org)
    response = client.post(
        "/keys/", {"project": hidden.public_id, "name": "sneaky", "scopes": ["chat"]}
    )
    assert b"Only a member of the project" in response.content
    assert not ApiKey.objects.filter(name="sneaky").exists()


def test_a_key_outside_the_projects_allowlist_is_refused(client, org, alice):
    acme_org, research = org
    Project.objects.filter(pk=research.pk).update(allowed_models=["portico/test-chat"])
    as_user(client, alice, acme_org)
    response = client.post(
        "/keys/",
        {
            "project": research.public_id,
            "name": "wide",
            "scopes": ["chat"],
            "models": ["portico/other-chat"],
        },
    )
    assert not ApiKey.objects.filter(name="wide").exists()
    assert response.status_code == HTTPStatus.OK


# --- Audit log ---------------------------------------------------------------------------------
def test_the_owner_sees_the_audit_log_with_before_and_after_and_filters_it(client, org, alice):
    acme_org, research = org
    as_user(client, alice, acme_org)
    client.post(
        project_url(research),
        {"action": "settings", "name": "Research 2", "monthly_budget_usd": "70"},
    )
    page = client.get("/organization/audit/").content.decode()
    assert "project.updated" in page and "project.created" in page
    assert "&quot;50&quot;" in page and "&quot;70&quot;" in page  # before → after
    only = client.get("/organization/audit/?type=project.updated").content.decode()
    assert 'data-type="project.created"' not in only and 'data-type="project.updated"' in only
    hostile = client.get("/organization/audit/?type=%00&project=%00&page=-1")
    assert hostile.status_code == HTTPStatus.OK


def test_a_reader_sees_only_their_projects_entries_and_no_other_organizations(
    client, org, alice, bob, charlie
):
    acme_org, _ = org
    as_user(client, alice, acme_org)
    client.post("/organization/projects/", {"name": "Secret plans"})
    client.logout()
    theirs = personal_organization(charlie)
    as_user(client, bob, acme_org)
    page = client.get("/organization/audit/").content.decode()
    assert "Research" in page and "Secret plans" not in page
    assert theirs.public_id not in page


@pytest.mark.parametrize(
    "data",
    [
        {"action": "member_role", "user_id": "user-1\x00", "role": "member"},
        {"action": "remove_member", "user_id": "\x00"},
        {"action": "rate_limit", "rate_limit_id": "rl-\x00", "max_requests_per_1_minute": "1"},
        {"action": "delete_service_account", "service_account_id": "user-\x00"},
    ],
)
def test_a_nul_in_an_id_names_nothing(client, org, alice, data):
    acme_org, research = org
    as_user(client, alice, acme_org)
    assert client.post(project_url(research), data).status_code == HTTPStatus.NOT_FOUND
    page = client.post("/keys/", {"project": "proj_\x00", "name": "k", "scopes": ["chat"]})
    assert b"No project with id" in page.content
    members = client.post(
        "/organization/members/", {"action": "delete_invite", "invite_id": "\x00"}
    )
    assert members.status_code == HTTPStatus.NOT_FOUND


def test_an_htmx_request_gets_the_refusal_in_a_page_it_will_swap(client, org, alice):
    """htmx swaps only 2xx answers: a boosted form's refusal comes back as 200 with the
    message, a plain form's with its status."""
    acme_org, _ = org
    as_user(client, alice, acme_org)
    response = client.post("/organization/projects/", {"name": "A\x00"}, HTTP_HX_REQUEST="true")
    assert response.status_code == HTTPStatus.OK
    assert "control characters" in response.content.decode()
    assert not Project.objects.filter(name__startswith="A").exists()
