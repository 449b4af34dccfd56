"""OpenAI's Admin API, driven by the official SDK (``client.admin.organization…``) against
the real server: every route, the keys that may (not) call it, other organizations' ids,
and hostile input answered in the API's error format with nothing half-written."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from io import StringIO

import httpx
import openai
import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import (
    AuditLogEntry,
    Invite,
    OrganizationMember,
    OrganizationRole,
    Project,
    ProjectRateLimit,
)
from accounts.org_rules import Actor, user_public_id
from accounts.organizations import personal_organization
from accounts.projects import create_project
from tests.contract.test_answers_match_the_document import Checked
from tests.gateway.conftest import drained_records

pytestmark = pytest.mark.django_db(transaction=True)


def admin_secret(email: str, organization: str | None = None) -> str:
    out = StringIO()
    options = ["--organization", organization] if organization else []
    call_command("createapikey", "--admin", "--user", email, *options, "--json", stdout=out)
    return json.loads(out.getvalue())["key"]


@pytest.fixture
def admin(server, funded):
    """Alice's admin client for her personal organization."""
    client = openai.OpenAI(
        admin_api_key=admin_secret(funded.email),
        base_url=server.url + "/v1",
        max_retries=0,
        timeout=20,
    )
    return client.admin.organization


def extra(obj, name: str):
    return (obj.model_extra or {}).get(name)


def test_an_owner_walks_every_route_with_the_sdk(admin, alice, bob, client_for):
    started = int(time.time())
    org = personal_organization(alice)
    OrganizationMember.objects.create(organization=org, user=bob, role=OrganizationRole.READER)
    bob_id = user_public_id(bob.pk)

    # Projects, with Portico's budgets as exact decimal strings.
    project = admin.projects.create(
        name="Research", extra_body={"monthly_budget_usd": "25.50", "member_cap_usd": "5"}
    )
    assert project.object == "organization.project" and project.status == "active"
    assert (
        extra(project, "monthly_budget_usd") == "25.5" and extra(project, "member_cap_usd") == "5"
    )
    assert project.id in [p.id for p in admin.projects.list()]
    changed = admin.projects.update(
        project.id, name="Research 2", extra_body={"daily_budget_usd": "1.25"}
    )
    assert changed.name == "Research 2" and extra(changed, "daily_budget_usd") == "1.25"
    assert admin.projects.retrieve(project.id).name == "Research 2"
    limit = admin.projects.spend_limit.retrieve(project.id)
    assert (limit.threshold_amount, limit.enforcement.status) == (2550, "enforcing")
    admin.projects.spend_limit.update(
        project.id, threshold_amount=4000, currency="USD", interval="month"
    )
    assert Project.objects.get(public_id=project.id).monthly_budget_usd == 40
    assert admin.projects.spend_limit.delete(project.id).deleted

    # Invites.
    invite = admin.invites.create(
        email="carol@example.com", role="reader", projects=[{"id": project.id, "role": "member"}]
    )
    assert invite.status == "pending" and invite.projects[0].id == project.id
    assert [i.id for i in admin.invites.list()] == [invite.id]
    assert admin.invites.retrieve(invite.id).email == "carol@example.com"
    assert admin.invites.delete(invite.id).deleted and not Invite.objects.exists()

    # The organization's users.
    assert {u.email for u in admin.users.list()} == {"alice@example.com", "bob@example.com"}
    assert admin.users.retrieve(bob_id).role == "reader"
    assert admin.users.update(bob_id, role="owner").role == "owner"
    admin.users.update(bob_id, role="reader")

    # A project's users.
    added = admin.projects.users.create(project.id, user_id=bob_id, role="member")
    assert (added.id, added.role) == (bob_id, "member")
    assert bob_id in [u.id for u in admin.projects.users.list(project.id)]
    assert admin.projects.users.retrieve(bob_id, project_id=project.id).email == bob.email
    assert admin.projects.users.update(bob_id, project_id=project.id, role="owner").role == "owner"
    capped = admin.projects.users.update(
        bob_id, project_id=project.id, role="member", extra_body={"cap_usd": "3.5"}
    )
    assert (capped.role, extra(capped, "cap_usd")) == ("member", "3.5")
    assert admin.projects.users.delete(bob_id, project_id=project.id).deleted

    # Service accounts: the key once, and it works.
    account = admin.projects.service_accounts.create(project.id, name="ci")
    secret = account.api_key.value
    assert secret.startswith("sk-") and account.role == "member"
    assert client_for(secret).models.list().data
    assert [a.id for a in admin.projects.service_accounts.list(project.id)] == [account.id]
    assert admin.projects.service_accounts.retrieve(account.id, project_id=project.id).name == "ci"

    # The project's keys.
    keys = admin.projects.api_keys.list(project.id).data
    assert [k.owner.type for k in keys] == ["service_account"]
    key = admin.projects.api_keys.retrieve(keys[0].id, project_id=project.id)
    assert key.redacted_value.startswith(secret[:8]) and secret not in key.model_dump_json()
    assert admin.projects.api_keys.delete(key.id, project_id=project.id).deleted
    with pytest.raises(openai.AuthenticationError):
        client_for(secret).models.list()
    assert admin.projects.service_accounts.delete(account.id, project_id=project.id).deleted

    # Per-model rate limits.
    limits = admin.projects.rate_limits.list_rate_limits(project.id, limit=100).data
    fake = next(limit for limit in limits if limit.model == "fake-llm")
    set_limit = admin.projects.rate_limits.update_rate_limit(
        fake.id, project_id=project.id, max_requests_per_1_minute=10
    )
    assert set_limit.max_requests_per_1_minute == 10
    assert ProjectRateLimit.objects.get(public_id=fake.id).max_requests_per_1_minute == 10

    # Admin keys.
    second = admin.admin_api_keys.create(name="second")
    assert second.value.startswith("sk-admin-")
    assert second.id in [k.id for k in admin.admin_api_keys.list()]
    assert admin.admin_api_keys.retrieve(second.id).name == "second"
    assert admin.admin_api_keys.delete(second.id).deleted

    # Archive, then the audit log has it all, filtered as OpenAI filters.
    assert admin.projects.archive(project.id).status == "archived"
    assert project.id not in [p.id for p in admin.projects.list()]
    assert project.id in [p.id for p in admin.projects.list(include_archived=True)]
    assert admin.users.delete(bob_id).deleted
    types = {entry.type for entry in admin.audit_logs.list(limit=100)}
    assert {
        "project.created",
        "project.updated",
        "project.archived",
        "invite.sent",
        "invite.deleted",
        "user.updated",
        "user.added",
        "user.deleted",
        "service_account.created",
        "service_account.deleted",
        "api_key.created",
        "api_key.deleted",
        "rate_limit.updated",
    } <= types
    created = admin.audit_logs.list(event_types=["project.created"]).data
    assert [e.project.id for e in created] == [project.id]
    assert created[0].actor.type == "api_key" and created[0].actor.api_key.user.email == alice.email
    assert len(admin.audit_logs.list(project_ids=[project.id], limit=100).data) >= 10
    assert admin.audit_logs.list(actor_emails=["nobody@example.com"]).data == []
    assert admin.audit_logs.list(resource_ids=[project.id], effective_at={"gte": started}).data
    assert admin.audit_logs.list(effective_at={"lt": started - 3600}).data == []
    first = admin.audit_logs.list(limit=2)
    assert first.has_more and len(first.data) == 2
    following = admin.audit_logs.list(limit=2, after=first.data[-1].id)
    assert following.data[0].id not in {e.id for e in first.data}


def test_an_admin_key_calls_no_model_and_a_project_key_no_admin_route(admin, server, make_key):
    admin_client = openai.OpenAI(
        api_key=admin._client.admin_api_key, base_url=server.url + "/v1", max_retries=0
    )
    with pytest.raises(openai.PermissionDeniedError) as refused:
        admin_client.chat.completions.create(
            model="fake-llm", messages=[{"role": "user", "content": "hi"}]
        )
    assert "model.request" in refused.value.message
    ordinary = openai.OpenAI(
        admin_api_key=make_key(), base_url=server.url + "/v1", max_retries=0
    ).admin.organization
    with pytest.raises(openai.PermissionDeniedError) as refused:
        ordinary.projects.list()
    assert "api.management.read" in refused.value.message
    assert refused.value.body["code"] == "missing_scope"


def test_another_organizations_ids_are_not_found_on_every_route(admin, alice, bob, server):
    theirs = personal_organization(bob)
    their_project = create_project(Actor(user=bob), theirs, "Bob's")
    their_admin = openai.OpenAI(
        admin_api_key=admin_secret(bob.email), base_url=server.url + "/v1", max_retries=0
    ).admin.organization
    account = their_admin.projects.service_accounts.create(their_project.public_id, name="bot")
    invite = their_admin.invites.create(email="dan@example.com", role="reader")
    their_key = their_admin.admin_api_keys.list().data[0].id
    bob_id, pid = user_public_id(bob.pk), their_project.public_id
    calls = [
        lambda: admin.projects.retrieve(pid),
        lambda: admin.projects.update(pid, name="mine"),
        lambda: admin.projects.archive(pid),
        lambda: admin.projects.users.list(pid),
        lambda: admin.projects.users.create(pid, user_id=user_public_id(alice.pk), role="owner"),
        lambda: admin.projects.service_accounts.list(pid),
        lambda: admin.projects.service_accounts.create(pid, name="x"),
        lambda: admin.projects.service_accounts.delete(account.id, project_id=pid),
        lambda: admin.projects.api_keys.list(pid),
        lambda: admin.projects.rate_limits.list_rate_limits(pid),
        lambda: admin.projects.spend_limit.retrieve(pid),
        lambda: admin.users.retrieve(bob_id),
        lambda: admin.users.update(bob_id, role="reader"),
        lambda: admin.users.delete(bob_id),
        lambda: admin.invites.retrieve(invite.id),
        lambda: admin.invites.delete(invite.id),
        lambda: admin.admin_api_keys.retrieve(their_key),
        lambda: admin.admin_api_keys.delete(their_key),
        lambda: (
            admin.projects.create(name="x", extra_body={}).id
            and admin.invites.create(
                email="e@example.com", role="reader", projects=[{"id": pid, "role": "member"}]
            )
        ),
    ]
    for call in calls:
        with pytest.raises(openai.NotFoundError) as refused:
            call()
        assert refused.value.body["type"] == "not_found_error"
    assert Project.objects.get(pk=their_project.pk).name == "Bob's"
    assert (
        theirs.members.count() == 1
        and not AuditLogEntry.objects.filter(organization=theirs, actor_user=alice).exists()
    )


def test_ids_with_nul_or_another_shape_name_nothing(admin):
    """A NUL in an id would make PostgreSQL refuse the query (a 500). A URL with one is
    refused whole (400, the server's URL rule); in a body, and for any id of another
    shape than an id's, it names nothing: a 404 like any unknown id."""
    with pytest.raises(openai.BadRequestError):
        admin.projects.retrieve("proj_\x00x")
    for bad in ("proj_\x00x", "proj_\u202ex", "a" * 65):
        with pytest.raises(openai.NotFoundError) as refused:
            admin.invites.create(
                email="e@example.com", role="reader", projects=[{"id": bad, "role": "member"}]
            )
        assert "\x00" not in refused.value.body["message"]
    for bad in ("proj_ü", "a" * 65):
        with pytest.raises(openai.NotFoundError):
            admin.projects.retrieve(bad)
        with pytest.raises(openai.NotFoundError):
            admin.invites.retrieve(bad)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": "P", "monthly_budget_usd": "-1"}, "monthly_budget_usd"),
        ({"name": "P", "monthly_budget_usd": -1}, "monthly_budget_usd"),
        ({"name": "P", "daily_budget_usd": "1e309"}, "daily_budget_usd"),
        ({"name": "P", "member_cap_usd": "NaN"}, "member_cap_usd"),
        ({"name": "P", "member_cap_usd": 1.5}, "member_cap_usd"),
        ({"name": "P", "member_cap_usd": {"a": [1]}}, "member_cap_usd"),
        ({"name": "a\u0000b"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": 5}, "name"),
        ({"name": ""}, "name"),
    ],
)
def test_a_bad_project_is_a_400_naming_the_field_and_nothing_is_written(admin, server, body, param):
    before = Project.objects.count()
    response = httpx.post(
        server.url + "/v1/organization/projects",
        json=body,
        headers={"Authorization": f"Bearer {admin._client.admin_api_key}"},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert set(error) == {"message", "type", "param", "code"}
    assert Project.objects.count() == before
    assert not AuditLogEntry.objects.filter(type="project.created").exists()


def test_raw_1e309_and_unicode_digits_are_400s(admin, server):
    headers = {
        "Authorization": f"Bearer {admin._client.admin_api_key}",
        "Content-Type": "application/json",
    }
    response = httpx.post(
        server.url + "/v1/organization/projects",
        content=b'{"name": "P", "monthly_budget_usd": 1e309}',
        headers=headers,
    )
    assert response.status_code == 400 and response.json()["error"]["param"] == "monthly_budget_usd"
    response = httpx.get(
        server.url + "/v1/organization/projects", params={"limit": "\u0663"}, headers=headers
    )
    assert response.status_code == 400 and response.json()["error"]["param"] == "limit"


def test_roles_and_owners_are_guarded(admin, alice, bob, server):
    org = personal_organization(alice)
    with pytest.raises(openai.BadRequestError) as refused:
        admin.users.update(user_public_id(alice.pk), role="reader")
    assert refused.value.body["code"] == "last_owner"
    with pytest.raises(openai.BadRequestError) as refused:
        admin.users.delete(user_public_id(alice.pk))
    assert refused.value.body["code"] in {"last_owner", "personal_organization"}
    OrganizationMember.objects.create(organization=org, user=bob, role=OrganizationRole.READER)
    with pytest.raises(openai.BadRequestError) as refused:
        admin.users.update(user_public_id(bob.pk), role="admin")
    assert refused.value.body["code"] == "invalid_role"
    with pytest.raises(openai.BadRequestError) as refused:
        admin.invites.create(email="not an address", role="reader")
    assert refused.value.body["param"] == "email"
    with pytest.raises(openai.ConflictError):
        admin.invites.create(email="bob@example.com", role="reader")
    # A reader's admin key (minted while an owner) stops working.
    OrganizationMember.objects.filter(user=bob).update(role=OrganizationRole.OWNER)
    bobs = openai.OpenAI(
        admin_api_key=admin_secret(bob.email, org.public_id),
        base_url=server.url + "/v1",
        max_retries=0,
    ).admin.organization
    assert bobs.projects.list().data
    OrganizationMember.objects.filter(user=bob).update(role=OrganizationRole.READER)
    with pytest.raises(openai.PermissionDeniedError):
        bobs.projects.create(name="mine")
    assert org.members.get(user=alice).role == "owner"


def test_usage_and_costs_come_in_buckets_grouped_as_asked(admin, alice, make_key, client_for):
    started = int(time.time())
    secret = make_key()
    chat = client_for(secret)
    for _ in range(2):
        chat.chat.completions.create(model="fake-llm", messages=[{"role": "user", "content": "hi"}])
    chat.embeddings.create(model="fake-embed", input=["a", "b"])
    records = drained_records()
    assert len(records) == 3
    project_id = records[0].api_key.project.public_id
    key_id = f"key_{records[0].api_key_id}"

    page = admin.usage.completions(
        start_time=started - 60, bucket_width="1h", group_by=["project_id", "model", "api_key_id"]
    )
    results = [r for bucket in page.data for r in bucket.results]
    assert len(results) == 1
    (row,) = results
    assert (row.num_model_requests, row.model, row.project_id, row.api_key_id) == (
        2,
        "fake-llm",
        project_id,
        key_id,
    )
    assert row.input_tokens == sum(r.prompt_tokens for r in records if r.model == "fake-llm")
    assert row.output_tokens == sum(r.completion_tokens for r in records if r.model == "fake-llm")

    embedded = admin.usage.embeddings(start_time=started - 60, bucket_width="1m", limit=5)
    assert sum(r.num_model_requests for b in embedded.data for r in b.results) == 1
    assert all(b.end_time - b.start_time == 60 for b in embedded.data)

    costs = admin.usage.costs(start_time=started - 60, group_by=["line_item", "user_id"])
    lines = {r.line_item: r for b in costs.data for r in b.results}
    exact = sum(r.cost_usd for r in records)
    assert sum(Decimal(r.amount.model_extra["value_usd"]) for r in lines.values()) == exact
    assert {r.user_id for r in lines.values()} == {user_public_id(alice.pk)}

    # A project filter, and someone else's usage is not here.
    other = admin.usage.completions(start_time=started - 60, project_ids=["proj_nobody"])
    assert all(b.results == [] for b in other.data)
    with pytest.raises(openai.BadRequestError) as refused:
        admin.usage.completions(start_time=started, bucket_width="2h")
    assert refused.value.body["param"] == "bucket_width"
    with pytest.raises(openai.BadRequestError) as refused:
        admin.usage.completions(start_time=started, group_by=["colour"])
    assert refused.value.body["param"] == "group_by"


def test_every_admin_answer_matches_the_document(admin, alice, bob, server, make_key):
    document = Client().get("/v1/openapi.json").json()
    api = Checked(server, admin._client.admin_api_key, document)
    OrganizationMember.objects.create(
        organization=personal_organization(alice), user=bob, role=OrganizationRole.READER
    )
    bob_id = user_public_id(bob.pk)
    make_key()  # a user key in the default project
    p = api.call("POST", "/organization/projects", json={"name": "P", "daily_budget_usd": "2"})
    one = "/organization/projects/{project_id}"
    path = f"/organization/projects/{p['id']}"
    api.call("GET", "/organization/projects", params={"include_archived": "true"})
    api.call("GET", one, path)
    api.call("POST", one, path, json={"member_cap_usd": "1.5"})
    api.call("GET", one + "/spend_limit", path + "/spend_limit")
    api.call("POST", one + "/spend_limit", path + "/spend_limit", json={"threshold_amount": 100})
    api.call("DELETE", one + "/spend_limit", path + "/spend_limit")
    users = one + "/users"
    api.call("POST", users, path + "/users", json={"user_id": bob_id, "role": "member"})
    api.call("GET", users, path + "/users")
    api.call("GET", users + "/{user_id}", f"{path}/users/{bob_id}")
    api.call("POST", users + "/{user_id}", f"{path}/users/{bob_id}", json={"role": "owner"})
    api.call("DELETE", users + "/{user_id}", f"{path}/users/{bob_id}")
    accounts = one + "/service_accounts"
    sa = api.call("POST", accounts, path + "/service_accounts", json={"name": "ci"})
    api.call("GET", accounts, path + "/service_accounts")
    api.call("GET", accounts + "/{service_account_id}", f"{path}/service_accounts/{sa['id']}")
    keys = one + "/api_keys"
    listed = api.call("GET", keys, path + "/api_keys")
    key_id = listed["data"][0]["id"]
    api.call("GET", keys + "/{api_key_id}", f"{path}/api_keys/{key_id}")
    api.call("DELETE", keys + "/{api_key_id}", f"{path}/api_keys/{key_id}")
    api.call("DELETE", accounts + "/{service_account_id}", f"{path}/service_accounts/{sa['id']}")
    limits = api.call("GET", one + "/rate_limits", path + "/rate_limits")
    limit = one + "/rate_limits/{rate_limit_id}"
    rl = limits["data"][0]["id"]
    api.call("POST", limit, f"{path}/rate_limits/{rl}", json={"max_tokens_per_1_minute": 1000})
    api.call("POST", one + "/archive", path + "/archive")
    invite = api.call(
        "POST", "/organization/invites", json={"email": "c@example.com", "role": "owner"}
    )
    api.call("GET", "/organization/invites")
    api.call("GET", "/organization/invites/{invite_id}", f"/organization/invites/{invite['id']}")
    api.call("DELETE", "/organization/invites/{invite_id}", f"/organization/invites/{invite['id']}")
    api.call("GET", "/organization/users")
    api.call("GET", "/organization/users/{user_id}", f"/organization/users/{bob_id}")
    api.call(
        "POST",
        "/organization/users/{user_id}",
        f"/organization/users/{bob_id}",
        json={"role": "owner"},
    )
    api.call("DELETE", "/organization/users/{user_id}", f"/organization/users/{bob_id}")
    second = api.call("POST", "/organization/admin_api_keys", json={"name": "two"})
    api.call("GET", "/organization/admin_api_keys")
    key_path = f"/organization/admin_api_keys/{second['id']}"
    api.call("GET", "/organization/admin_api_keys/{key_id}", key_path)
    api.call("DELETE", "/organization/admin_api_keys/{key_id}", key_path)
    api.call("GET", "/organization/audit_logs", params={"limit": 100})
    since = {"start_time": int(time.time()) - 3600, "group_by[]": ["model", "project_id"]}
    api.call("GET", "/organization/usage/completions", params=since)
    api.call("GET", "/organization/usage/embeddings", params=since)
    api.call("GET", "/organization/costs", params={"start_time": since["start_time"]})
    assert len(api.checked) == 38  # every Admin API route
