"""An invite's mailed link, in the browser: someone without an account signs up from it
and joins; someone signed in accepts with the button; someone signed in with another
address is told to switch."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.invites import create_invite
from accounts.models import OrganizationMember
from accounts.org_rules import Actor
from accounts.organizations import personal_organization
from accounts.projects import create_project
from tests.conftest import PASSWORD, screenshot
from tests.support.browser import sign_in_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def invite_link(server, settings, alice, email: str):
    settings.SITE_URL = server.url
    org = personal_organization(alice)
    project = create_project(Actor(user=alice), org, "Research")
    create_invite(
        Actor(user=alice), org, email, "reader", [{"id": project.public_id, "role": "member"}]
    )
    (message,) = [m for m in mail.outbox if email in m.to]
    return re.search(r"http://\S+/invites/\S+/", message.body).group(0), org, project


@pytest.mark.allow_http_error(410)
def test_a_newcomer_signs_up_from_the_mail_and_joins(page, portico_server, settings, alice):
    link, org, project = invite_link(portico_server, settings, alice, "erin@example.com")
    page.goto(link)  # no account yet: who invites to what, and sign-up with the address
    assert page.get_by_role("heading", name=f"Join {org.name}").is_visible()
    assert page.get_by_text("alice@example.com invites erin@example.com").is_visible()
    screenshot(page, "invite-anonymous")
    page.get_by_role("link", name="Sign up with erin@example.com").click()
    assert page.locator("input[name=email]").input_value() == "erin@example.com"
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    # The link reached that mailbox: no second confirmation mail, and the invite is accepted.
    page.wait_for_url(portico_server.url + "/")
    assert page.get_by_text(f"You joined {org.name}.").is_visible()
    assert page.locator("#org-switch-select").input_value() == org.public_id
    member = OrganizationMember.objects.get(organization=org, user__email="erin@example.com")
    assert member.role == "reader" and project.members.filter(user=member.user).exists()
    page.goto(link)
    assert page.get_by_role("heading", name=f"You joined {org.name}").is_visible()
    page.context.clear_cookies()
    page.goto(link)  # used: it no longer works for anyone else
    assert page.get_by_role("heading", name="This invitation no longer works").is_visible()


def test_a_signed_in_invitee_accepts_with_the_button(page, portico_server, settings, alice, bob):
    link, org, _ = invite_link(portico_server, settings, alice, "bob@example.com")
    sign_in_as(page, portico_server, bob)
    page.goto(link)
    screenshot(page, "invite-accept")
    page.get_by_role("button", name="Accept the invitation").click()
    page.wait_for_url(portico_server.url + "/")
    assert page.get_by_text(f"You joined {org.name}.").is_visible()
    assert OrganizationMember.objects.filter(organization=org, user=bob).exists()


@pytest.mark.allow_http_error(403, 404)
def test_someone_else_cannot_accept_it(page, portico_server, settings, alice, bob):
    link, org, _ = invite_link(portico_server, settings, alice, "dana@example.com")
    sign_in_as(page, portico_server, bob)
    page.goto(link)
    assert page.get_by_text("Sign in as dana@example.com to accept.").is_visible()
    assert page.get_by_role("button", name="Accept the invitation").count() == 0
    assert not OrganizationMember.objects.filter(organization=org, user=bob).exists()
    page.goto(portico_server.url + "/invites/not-a-token/")
    assert page.get_by_role("heading", name="This invitation no longer works").is_visible()
