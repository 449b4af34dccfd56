"""Confirming the address: in the browser that signed up, it signs the new user in; the
pages say it in plain words (no "is an email address for user newbie@example.com")."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core import mail
from django.test import Client

from tests.accounts.test_auth_flows import link_in
from tests.conftest import PASSWORD
from tests.support.html import visible_text

pytestmark = pytest.mark.django_db(transaction=True)


def sign_up(client, email: str = "newbie@example.com") -> str:
    client.post("/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD})
    return link_in(mail.outbox[-1], r"/accounts/confirm-email/[^\s]+/")


def test_confirming_in_the_same_browser_signs_the_new_user_in(client):
    confirm = sign_up(client)

    page = visible_text(client.get(confirm))
    assert "Confirm that newbie@example.com is your address" in page
    assert "is an email address for user" not in page

    response = client.post(confirm, follow=True)

    assert response.redirect_chain[-1][0] == "/"
    assert response.context["user"].email == "newbie@example.com"
    assert "Your e-mail address newbie@example.com is confirmed." in visible_text(response)


def test_a_link_opened_in_another_browser_confirms_but_does_not_sign_in(client):
    confirm = sign_up(client)
    elsewhere = Client()

    response = elsewhere.post(confirm, follow=True)

    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert not response.context["user"].is_authenticated
    assert "Your e-mail address newbie@example.com is confirmed." in visible_text(response)
    assert elsewhere.get("/").status_code == HTTPStatus.FOUND


def test_a_used_link_says_what_to_do(client):
    confirm = sign_up(client)
    client.post(confirm)
    client.post("/accounts/logout/")

    page = visible_text(Client().get(confirm))

    assert "This confirmation link has expired or was already used." in page
