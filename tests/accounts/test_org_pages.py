"""The organization switcher, the Members page and invitation links, through the real
views: roles checked on the server, another organization's ids 404, hostile input
refused with the use case's message and nothing written."""

from __future__ import annotations

import re
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core import mail
from django.utils import timezone

from accounts import invites
from accounts.models import AuditLogEntry, Invite, OrganizationMember, ProjectMember, User
from accounts.org_rules import Actor, user_public_id
from accounts.organizations import personal_organization
from tests.accounts.org_pages_support import acme, work_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(alice, bob):
    return acme(alice, bob)


def as_user(client, user, org=None):
    client.force_login(user)
    if org is not None:
        work_in(client, org)
    return client


def test_the_switcher_lists_the_users_organizations_and_keeps_the_choice(client, org, bob):
    acme_org, _ = org
    as_user(client, bob)
    page = client.get("/organization/members/").content.decode()
    assert "bob&#x27;s organization" in page and acme_org.name.replace("'", "&#x27;") in page
    assert "you are owner" in page  # his own, by default

    work_in(client, acme_org)
    assert client.session["organization"] == acme_org.public_id
    assert "you are reader" in client.get("/organization/members/").content.decode()


def test_switching_to_an_organization_one_is_not_in_is_a_404(client, org, bob, charlie):
    as_user(client, bob)
    theirs = personal_organization(charlie)
    response = client.post("/organization/switch/", {"organization": theirs.public_id})
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert client.post("/organization/switch/", {"organization": "x\x00"}).status_code == 404
    assert "organization" not in client.session


def test_a_removed_member_falls_back_to_their_personal_organization(client, org, alice, bob):
    acme_org, _ = org
    as_user(client, bob, acme_org)
    OrganizationMember.objects.filter(organization=acme_org, user=bob).delete()
    assert "you are owner" in client.get("/organization/members/").content.decode()


def test_an_owner_invites_by_email_with_projects_and_the_mail_carries_the_link(
    client, org, alice, django_capture_on_commit_callbacks
):
    acme_org, research = org
    as_user(client, alice, acme_org)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/organization/members/",
            {
                "action": "invite",
                "email": "Dana@Example.com",
                "role": "reader",
                "projects": [research.public_id],
                f"project_role_{research.public_id}": "owner",
            },
        )
    assert response.status_code == HTTPStatus.FOUND
    invite = Invite.objects.get(email="dana@example.com")
    assert invite.projects == [{"id": research.public_id, "role": "owner"}]
    assert re.search(r"/invites/[\w-]+/", mail.outbox[-1].body)
    page = client.get("/organization/members/").content.decode()
    assert "dana@example.com" in page and "pending" in page


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"email": "a\x00@example.com", "role": "reader"}, 400, "not a valid e-mail"),
        ({"email": "x" * 300, "role": "reader"}, 400, "must be an e-mail"),
        ({"email": "dana@example.com", "role": "admin"}, 400, "is not one of owner, reader"),
        ({"email": "dana@example.com"}, 400, "is not one of"),
        ({"email": "bob@example.com", "role": "reader"}, 409, "already a member"),
    ],
)
def test_a_bad_invite_is_refused_with_the_use_cases_message(
    client, org, alice, data, status, message
):
    acme_org, _ = org
    as_user(client, alice, acme_org)
    response = client.post("/organization/members/", {"action": "invite", **data})
    assert response.status_code == status
    assert message in response.content.decode()
    assert not Invite.objects.exists()


def test_inviting_into_another_organizations_project_is_a_404(client, org, alice, charlie):
    acme_org, _ = org
    theirs = personal_organization(charlie).projects.get()
    as_user(client, alice, acme_org)
    response = client.post(
        "/organization/members/",
        {
            "action": "invite",
            "email": "d@example.com",
            "role": "reader",
            "projects": [theirs.public_id],
        },
    )
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert not Invite.objects.exists()


def test_a_reader_sees_members_but_changes_nothing(client, org, alice, bob):
    acme_org, _ = org
    as_user(client, bob, acme_org)
    page = client.get("/organization/members/").content.decode()
    assert "alice@example.com" in page and "Send invitation" not in page
    for data in (
        {"action": "invite", "email": "d@example.com", "role": "reader"},
        {"action": "role", "user_id": user_public_id(bob.pk), "role": "owner"},
        {"action": "remove", "user_id": user_public_id(alice.pk)},
    ):
        response = client.post("/organization/members/", data)
        assert response.status_code == HTTPStatus.FORBIDDEN, data
    assert OrganizationMember.objects.get(organization=acme_org, user=bob).role == "reader"
    assert not Invite.objects.exists()


def test_an_owner_changes_roles_and_removes_but_never_the_last_owner(client, org, alice, bob):
    acme_org, research = org
    as_user(client, alice, acme_org)
    response = client.post(
        "/organization/members/",
        {"action": "role", "user_id": user_public_id(alice.pk), "role": "reader"},
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "last owner" in response.content.decode()

    bad = client.post(
        "/organization/members/",
        {"action": "role", "user_id": user_public_id(bob.pk), "role": "superuser"},
    )
    assert bad.status_code == HTTPStatus.BAD_REQUEST

    ok = client.post(
        "/organization/members/",
        {"action": "role", "user_id": user_public_id(bob.pk), "role": "owner"},
    )
    assert ok.status_code == HTTPStatus.FOUND
    assert OrganizationMember.objects.get(organization=acme_org, user=bob).role == "owner"
    client.post("/organization/members/", {"action": "remove", "user_id": user_public_id(bob.pk)})
    assert not OrganizationMember.objects.filter(organization=acme_org, user=bob).exists()
    assert not ProjectMember.objects.filter(project=research, user=bob).exists()
    assert AuditLogEntry.objects.filter(type="user.deleted").exists()


def test_another_organizations_member_id_is_a_404(client, org, alice, charlie):
    acme_org, _ = org
    as_user(client, alice, acme_org)
    for action in ("role", "remove"):
        response = client.post(
            "/organization/members/",
            {"action": action, "user_id": user_public_id(charlie.pk), "role": "reader"},
        )
        assert response.status_code == HTTPStatus.NOT_FOUND
    response = client.post(
        "/organization/members/", {"action": "delete_invite", "invite_id": "invite-nope"}
    )
    assert response.status_code == HTTPStatus.NOT_FOUND


def test_an_owner_deletes_a_pending_invite(client, org, alice):
    acme_org, _ = org
    invite = invites.create_invite(Actor(user=alice), acme_org, "dana@example.com", "reader")
    as_user(client, alice, acme_org)
    response = client.post(
        "/organization/members/", {"action": "delete_invite", "invite_id": invite.public_id}
    )
    assert response.status_code == HTTPStatus.FOUND
    assert not Invite.objects.exists()


def test_an_unknown_action_is_refused(client, org, alice):
    as_user(client, alice, org[0])
    assert client.post("/organization/members/", {"action": "\x00"}).status_code == 400


# --- Invitation links -------------------------------------------------------------------------
def invite_link(org, alice, email="dana@example.com", expired=False):
    with_token = {}
    original = invites.secrets.token_urlsafe

    def remember(n):
        with_token["token"] = original(n)
        return with_token["token"]

    invites.secrets.token_urlsafe = remember
    try:
        invite = invites.create_invite(Actor(user=alice), org, email, "reader")
    finally:
        invites.secrets.token_urlsafe = original
    if expired:
        Invite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    return f"/invites/{with_token['token']}/"


def test_someone_without_an_account_sees_who_invites_them_and_joins_by_signing_up(
    client, org, alice
):
    acme_org, _ = org
    link = invite_link(acme_org, alice)
    page = client.get(link)
    text = page.content.decode()
    assert page.status_code == HTTPStatus.OK
    assert "alice@example.com invites" in text and "dana@example.com" in text
    assert "/accounts/signup/?email=dana%40example.com" in text

    signup = client.get("/accounts/signup/?email=dana%40example.com").content.decode()
    assert 'value="dana@example.com"' in signup
    response = client.post(
        "/accounts/signup/",
        {"email": "dana@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == HTTPStatus.FOUND and response["Location"] == "/"
    dana = User.objects.get(email="dana@example.com")
    assert OrganizationMember.objects.get(organization=acme_org, user=dana).role == "reader"
    assert client.session["organization"] == acme_org.public_id
    assert Invite.objects.get().accepted_by == dana
    assert ProjectMember.objects.filter(user=dana, project__organization=acme_org).exists()
    # The link now says she joined.
    assert "You joined" in client.get(link).content.decode()


def test_signing_up_with_another_address_does_not_accept_the_invite(client, org, alice):
    acme_org, _ = org
    link = invite_link(acme_org, alice)
    client.get(link)
    client.post(
        "/accounts/signup/",
        {"email": "eve@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    invite = Invite.objects.get()
    assert invite.accepted_at is None, (invite.accepted_by, list(User.objects.all()))
    assert not OrganizationMember.objects.filter(
        organization=acme_org, user__email="eve@example.com"
    ).exists()


def test_an_existing_user_signs_in_from_the_link_and_joins(client, org, alice, charlie):
    acme_org, _ = org
    link = invite_link(acme_org, alice, email="charlie@example.com")
    text = client.get(link).content.decode()
    assert "/accounts/login/?next=" in text
    response = client.post(
        "/accounts/login/", {"login": "charlie@example.com", "password": PASSWORD}
    )
    assert response.status_code == HTTPStatus.FOUND
    assert OrganizationMember.objects.filter(organization=acme_org, user=charlie).exists()


def test_a_signed_in_invitee_accepts_with_a_button(client, org, alice, charlie):
    acme_org, _ = org
    link = invite_link(acme_org, alice, email="charlie@example.com")
    client.force_login(charlie)
    assert "Join" in client.get(link).content.decode()
    assert not OrganizationMember.objects.filter(organization=acme_org, user=charlie).exists()
    response = client.post(link)
    assert response.status_code == HTTPStatus.FOUND
    assert OrganizationMember.objects.filter(organization=acme_org, user=charlie).exists()
    assert client.session["organization"] == acme_org.public_id


def test_an_invite_for_another_address_is_refused_to_whoever_is_signed_in(
    client, org, alice, charlie
):
    acme_org, _ = org
    link = invite_link(acme_org, alice, email="dana@example.com")
    client.force_login(charlie)
    assert client.get(link).status_code == HTTPStatus.FORBIDDEN
    assert client.post(link).status_code == HTTPStatus.FORBIDDEN
    assert Invite.objects.get().accepted_at is None


@pytest.mark.parametrize("token", ["nope", "x" * 500, "%00", "٣٣٣"])
def test_an_unknown_link_gets_a_clear_page(client, db, token):
    response = client.get(f"/invites/{token}/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "no longer works" in response.content.decode()


def test_an_expired_or_used_link_gets_a_clear_page(client, org, alice, charlie):
    acme_org, _ = org
    expired = invite_link(acme_org, alice, email="dana@example.com", expired=True)
    response = client.get(expired)
    assert response.status_code == HTTPStatus.GONE and "expired" in response.content.decode()

    used = invite_link(acme_org, alice, email="charlie@example.com")
    client.force_login(charlie)
    client.post(used)
    client.logout()
    response = client.get(used)
    assert response.status_code == HTTPStatus.GONE and "already used" in response.content.decode()
