from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal import auth as totp
from django.core import mail

from accounts.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a brand new passphrase 42"


def link_in(message, pattern: str) -> str:
    match = re.search(r"https?://[^/\s]+(" + pattern + r")", message.body)
    assert match, f"no link matching {pattern!r} in:\n{message.body}"
    return match.group(1)


def sign_in(client, email: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def enrol_totp(client) -> str:
    """Activate TOTP for the signed-in user (allauth asks for the password again first)."""
    assert client.get("/accounts/2fa/totp/activate/")["Location"].startswith(
        "/accounts/reauthenticate/"
    )
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == HTTPStatus.OK
    secret = page.context["form"].secret
    response = client.post("/accounts/2fa/totp/activate/", {"code": current_totp_code(secret)})
    assert response.status_code == HTTPStatus.FOUND
    return secret


def current_totp_code(secret: str) -> str:
    counter = next(totp.yield_hotp_counters_from_time())
    return totp.format_hotp_value(totp.hotp_value(secret, counter))


def test_it_signs_up_verifies_the_email_logs_in_and_out(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "dana@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/accounts/confirm-email/"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dana@example.com"]

    # Unverified: signing in only re-sends the verification.
    sign_in(client, "dana@example.com")
    assert client.get("/").status_code == HTTPStatus.FOUND

    confirm = link_in(mail.outbox[0], r"/accounts/confirm-email/[^\s]+/")
    assert client.get(confirm).status_code == HTTPStatus.OK
    assert client.post(confirm).status_code == HTTPStatus.FOUND

    response = sign_in(client, "dana@example.com")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/"
    page = client.get("/")
    assert page.status_code == HTTPStatus.OK
    assert b"Welcome" in page.content

    client.post("/accounts/logout/")
    assert client.get("/").status_code == HTTPStatus.FOUND


def test_it_refuses_a_second_account_for_the_same_email(client, alice):
    response = client.post(
        "/accounts/signup/",
        {"email": "alice@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    # allauth answers as if it worked (no account enumeration) but creates nothing new.
    assert User.objects.filter(email="alice@example.com").count() == 1
    assert response.status_code in (HTTPStatus.OK, HTTPStatus.FOUND)


def test_it_resets_a_forgotten_password(client, alice):
    response = client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    assert response.status_code == HTTPStatus.FOUND
    reset = link_in(mail.outbox[-1], r"/accounts/password/reset/key/[^\s]+/")

    form = client.get(reset, follow=True)
    assert form.status_code == HTTPStatus.OK
    set_password_url = form.redirect_chain[-1][0] if form.redirect_chain else reset
    response = client.post(set_password_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == HTTPStatus.FOUND

    client.logout()
    assert sign_in(client, "alice@example.com", PASSWORD).status_code == HTTPStatus.OK  # form again
    assert sign_in(client, "alice@example.com", NEW_PASSWORD)["Location"] == "/"


def test_it_changes_the_password_of_a_signed_in_user(client, alice):
    sign_in(client, "alice@example.com")
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == HTTPStatus.FOUND
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_it_enrols_totp_and_then_requires_a_code_at_login(client, alice):
    sign_in(client, "alice@example.com")
    secret = enrol_totp(client)
    assert Authenticator.objects.filter(user=alice, type=Authenticator.Type.TOTP).exists()
    assert Authenticator.objects.filter(user=alice, type=Authenticator.Type.RECOVERY_CODES).exists()

    client.post("/accounts/logout/")
    response = sign_in(client, "alice@example.com")
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/").status_code == HTTPStatus.FOUND  # not signed in yet

    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == HTTPStatus.OK
    assert b"Incorrect code" in wrong.content
    assert client.get("/").status_code == HTTPStatus.FOUND

    response = client.post("/accounts/2fa/authenticate/", {"code": current_totp_code(secret)})
    assert response.status_code == HTTPStatus.FOUND
    assert client.get("/").status_code == HTTPStatus.OK


def test_it_accepts_a_recovery_code_once(client, alice):
    sign_in(client, "alice@example.com")
    enrol_totp(client)
    recovery = Authenticator.objects.get(user=alice, type=Authenticator.Type.RECOVERY_CODES)
    code = recovery.wrap().get_unused_codes()[0]
    client.post("/accounts/logout/")

    sign_in(client, "alice@example.com")
    assert (
        client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == HTTPStatus.FOUND
    )
    client.post("/accounts/logout/")

    sign_in(client, "alice@example.com")
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == HTTPStatus.OK


def test_it_throttles_repeated_failed_logins(client, alice):
    for _ in range(5):
        response = sign_in(client, "alice@example.com", "wrong password")
        assert b"Too many failed login attempts" not in response.content
    response = sign_in(client, "alice@example.com", "wrong password")
    assert b"Too many failed login attempts" in response.content
    # Even the right password is refused until the window passes.
    response = sign_in(client, "alice@example.com")
    assert response.status_code == HTTPStatus.OK
    assert b"Too many failed login attempts" in response.content


def test_staff_reach_the_admin_and_others_do_not(client, alice, staff_user):
    sign_in(client, "alice@example.com")
    assert client.get("/admin/").status_code == HTTPStatus.FOUND
    client.post("/accounts/logout/")
    sign_in(client, "staff@example.com")
    assert client.get("/admin/").status_code == HTTPStatus.OK
