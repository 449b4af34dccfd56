"""Account e-mail names the site, and a local run logs each message's link."""

from __future__ import annotations

import logging

import pytest
from django.core import mail
from django.core.mail import EmailMessage

from portal.mail import LinkLoggingFileBackend, first_link
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def sign_up(client, email: str = "dana@example.com"):
    return client.post(
        "/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def test_the_verification_mail_names_the_site_and_its_domain(client, settings):
    settings.SITE_NAME = "Acme AI"
    settings.SITE_URL = "https://ai.acme.example"
    sign_up(client)

    message = mail.outbox[0]
    assert "Hello from Acme AI!" in message.body
    assert "register an account on ai.acme.example." in message.body
    assert "Thank you for using Acme AI!" in message.body
    assert "from !" not in message.body and " on ." not in message.body


def test_without_a_site_url_the_mail_names_the_host_it_was_asked_from(client, settings):
    settings.SITE_URL = ""
    sign_up(client)
    body = mail.outbox[0].body
    assert "Hello from Portico!" in body and "register an account on testserver." in body
    assert mail.outbox[0].subject.startswith("[Portico] ")


def test_the_password_reset_mail_names_the_site(client, alice, settings):
    settings.SITE_URL = ""
    client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    assert "Hello from Portico!" in mail.outbox[-1].body


def test_the_local_backend_saves_the_mail_and_logs_its_link(tmp_path, caplog):
    backend = LinkLoggingFileBackend(file_path=str(tmp_path))
    message = EmailMessage(
        "[Portico] Please Confirm Your Email Address",
        "Hello!\n\nTo confirm this is correct, go to http://127.0.0.1:8000/accounts/confirm-email/Mg:abc/\n",
        "noreply@portico.local",
        ["dana@example.com"],
    )
    with caplog.at_level(logging.WARNING, logger="portal.mail"):
        assert backend.send_messages([message]) == 1

    saved = "".join(path.read_text() for path in tmp_path.iterdir())
    assert "/accounts/confirm-email/Mg:abc/" in saved
    lines = [r.getMessage() for r in caplog.records if r.name == "portal.mail"]
    assert lines == [
        "✉ [Portico] Please Confirm Your Email Address — to dana@example.com: "
        "http://127.0.0.1:8000/accounts/confirm-email/Mg:abc/"
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == "portal.mail")


def test_the_first_link_stops_at_the_end_of_the_url():
    assert first_link("go to https://x.example/a/b/.\nthen") == "https://x.example/a/b/"
    assert first_link("no link here") == ""


def reload_settings():
    """Read the environment again: each settings module, the ones others import first."""
    import importlib

    import portal.settings as portal_settings

    for part in ("base", "databases", "documents", "queues", "accounts", "files", "logs"):
        importlib.reload(importlib.import_module(f"portal.settings.{part}"))
    importlib.reload(importlib.import_module("portal.settings.portico"))
    return importlib.reload(portal_settings)


def test_a_local_run_defaults_to_the_logging_file_backend(monkeypatch):
    monkeypatch.delenv("EMAIL_BACKEND", raising=False)
    monkeypatch.setenv("DEBUG", "1")
    try:
        assert reload_settings().EMAIL_BACKEND == "portal.mail.LinkLoggingFileBackend"
        monkeypatch.setenv("DEBUG", "0")
        monkeypatch.setenv("SECRET_KEY", "x" * 50)
        reloaded = reload_settings()
        assert reloaded.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"
        assert reloaded.SIGNUP_CREDIT_USD == 0
    finally:
        monkeypatch.undo()
        reload_settings()
