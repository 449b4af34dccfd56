"""Browser helpers shared by every page test."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.processes import wait_for


def mail_link(mail_dir: Path, address: str, pattern: str) -> str:
    """The first link matching ``pattern`` in a mail to ``address`` written by the server."""

    def find() -> str | None:
        for path in sorted(mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
            text = path.read_text()
            if f"To: {address}" in text and (match := re.search(pattern, text)):
                return match.group(0)
        return None

    return wait_for(find, timeout=15, what=f"a mail to {address}")


def sign_up_and_sign_in(page, server, mail_dir: Path, email: str, password: str) -> None:
    """The whole new-user path in the browser: sign up, then confirm the e-mail in the
    same browser, which signs the new user in (``ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION``)."""
    page.goto(server.url + "/accounts/signup/")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password1]").fill(password)
    page.locator("input[name=password2]").fill(password)
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url("**/accounts/confirm-email/")

    link = mail_link(mail_dir, email, r"http://[^\s]+/accounts/confirm-email/[^\s]+/")
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(server.url + "/")


def sign_in_as(page, server, user) -> None:
    """A session made here, handed to the browser (the server hashes passwords its own way)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": server.url}]
    )
