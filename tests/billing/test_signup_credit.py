"""A new account can make its first call without an admin: sign-up credit, once."""

from __future__ import annotations

import re
from decimal import Decimal
from http import HTTPStatus
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed, user_signed_up
from django.core import mail
from django.core.management import call_command

from accounts.models import User
from billing.credits import grant_signup_credit
from billing.models import LedgerEntry
from tests.billing.conftest import wallet_of
from tests.conftest import PASSWORD, make_user
from tests.support.html import visible_text

pytestmark = pytest.mark.django_db(transaction=True)


def sign_up(client, email: str = "dana@example.com"):
    return client.post(
        "/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def confirm_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", message.body).group(1)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_verifying_the_address_grants_the_sign_up_credit_once(client, settings):
    settings.SIGNUP_CREDIT_USD = Decimal("1.50")
    sign_up(client)
    dana = User.objects.get(email="dana@example.com")
    assert wallet_of(dana).balance_usd == 0  # not before the address is verified

    confirm = confirm_link(mail.outbox[0])
    assert client.post(confirm).status_code == HTTPStatus.FOUND
    assert wallet_of(dana).balance_usd == Decimal("1.50")

    # Confirming again (or a second address) never grants it twice.
    email_confirmed.send(
        sender=EmailAddress, request=None, email_address=EmailAddress.objects.get(user=dana)
    )
    assert grant_signup_credit(dana.pk).created is False
    entries = LedgerEntry.objects.filter(wallet__organization__personal_for=dana)
    assert [e.kind for e in entries] == [LedgerEntry.Kind.SIGNUP]
    assert [(e.amount_usd, e.description) for e in entries] == [
        (Decimal("1.50"), "Welcome to Portico")
    ]
    assert wallet_of(dana).balance_usd == Decimal("1.50")


def test_without_verification_the_credit_comes_with_the_sign_up(client, settings):
    settings.SIGNUP_CREDIT_USD = Decimal("2")
    settings.ACCOUNT_EMAIL_VERIFICATION = "none"
    sign_up(client, "erin@example.com")
    assert wallet_of(User.objects.get(email="erin@example.com")).balance_usd == Decimal("2")


def test_no_credit_is_granted_when_the_setting_is_zero(client, settings):
    settings.SIGNUP_CREDIT_USD = Decimal("0")
    sign_up(client)
    client.post(confirm_link(mail.outbox[0]))
    dana = User.objects.get(email="dana@example.com")
    assert wallet_of(dana).balance_usd == 0
    assert not LedgerEntry.objects.filter(wallet__organization__personal_for=dana).exists()


def test_an_empty_wallet_says_where_credit_comes_from(client, settings):
    settings.SUPPORT_EMAIL = ""
    make_user("root@example.com", staff=True)
    alice = make_user("alice@example.com")
    client.force_login(alice)

    page = text_of(client.get("/wallet/"))

    assert "Your wallet is empty" in page
    assert "an administrator can give you a redemption code" in page
    assert 'href="mailto:root@example.com"' in page
    assert "By card" not in page  # Stripe is not configured


def test_the_empty_wallet_names_the_support_address_and_card_when_configured(
    client, settings, stripe
):
    settings.SUPPORT_EMAIL = "help@portico.example"
    client.force_login(make_user("alice@example.com"))
    page = text_of(client.get("/wallet/"))
    assert 'href="mailto:help@portico.example"' in page and "By card" in page


def test_without_a_superuser_the_contact_is_the_sender_address(client, settings):
    settings.SUPPORT_EMAIL = ""
    settings.DEFAULT_FROM_EMAIL = "Portico <noreply@portico.example>"
    client.force_login(make_user("alice@example.com"))
    assert 'href="mailto:noreply@portico.example"' in text_of(client.get("/wallet/"))


def test_a_funded_wallet_shows_no_empty_state(client, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "none"
    settings.SIGNUP_CREDIT_USD = Decimal("1")
    sign_up(client, "fay@example.com")
    client.force_login(User.objects.get(email="fay@example.com"))
    page = text_of(client.get("/wallet/"))
    assert "Your wallet is empty" not in page and "Sign-up credit" in page


def test_bootstrap_says_what_a_sign_up_gets_and_where_its_mail_goes(settings):
    settings.SIGNUP_CREDIT_USD = Decimal("1")
    settings.EMAIL_BACKEND = "portal.mail.LinkLoggingFileBackend"
    settings.DEMO_CREDIT_USD = Decimal("0")
    out = StringIO()
    call_command("bootstrap", stdout=out)
    assert "New sign-ups get $1.00 once their e-mail is verified" in out.getvalue()
    assert "logged on a line starting with ✉" in out.getvalue()


def test_an_unverified_account_is_told_verifying_brings_credit(client, settings):
    settings.SIGNUP_CREDIT_USD = Decimal("1")
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    sign_up(client, "gus@example.com")
    gus = User.objects.get(email="gus@example.com")
    assert wallet_of(gus).balance_usd == 0

    page = text_of(client.get("/wallet/"))
    assert "By verifying your e-mail address" in page
    assert "get $1.00 once" in visible_text(page)


def test_an_address_a_social_provider_verified_gets_the_credit_at_sign_up(settings, rf):
    settings.SIGNUP_CREDIT_USD = Decimal("1")
    hal = User.objects.create_user(email="hal@example.com", password=PASSWORD)
    EmailAddress.objects.create(user=hal, email=hal.email, verified=True, primary=True)

    user_signed_up.send(sender=User, request=rf.get("/"), user=hal)

    assert wallet_of(hal).balance_usd == Decimal("1")
