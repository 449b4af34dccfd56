"""An admin narrows a user's model allowlist in the Django admin; the API follows within 2 s."""

from __future__ import annotations

import time
from decimal import Decimal

import openai
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from accounts.keys import issue_key
from accounts.models import User
from billing.credits import credit
from tests.conftest import PASSWORD, make_user, screenshot, serve_portico
from tests.pages.test_keys_browser import sdk
from tests.support.orgs import org_id
from tests.support.processes import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def portico_server(django_db_setup, mail_dir):
    """A server of this module's own (see ``serve_portico``): the shared one may hold
    content types or a catalog snapshot cached before an earlier module's flush."""
    yield from serve_portico(mail_dir)


HELLO = [{"role": "user", "content": "hi"}]


def admin_sign_in(page, server, email: str) -> None:
    page.goto(server.url + "/admin/login/")
    page.locator("input[name=username]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.url + "/admin/")


def test_an_admin_narrows_a_users_allowlist_and_the_next_call_is_refused(
    page, portico_server, local_models
):
    admin = make_user("root@example.com", staff=True)
    # The server checks passwords with the production hashers, not the tests' fast one.
    hasher = PBKDF2PasswordHasher()
    User.objects.filter(pk=admin.pk).update(password=hasher.encode(PASSWORD, hasher.salt()))
    dana = make_user("dana@example.com")
    credit(org_id(dana), Decimal("5"), kind="adjustment", idempotency_key="admin-browser")
    client = sdk(portico_server, issue_key(dana, "app").secret)
    wait_for(
        lambda: client.chat.completions.create(
            model="portico/other-chat", messages=HELLO, max_tokens=2
        ),
        timeout=10,
        what="the server to see the catalog",
    )

    admin_sign_in(page, portico_server, admin.email)
    page.goto(f"{portico_server.url}/admin/accounts/user/{dana.pk}/change/")
    page.locator("#id_allowed_models_from").select_option("portico/test-chat")
    page.locator("#id_allowed_models_add").click()
    screenshot(page, "admin-user-allowlist")
    page.locator("input[name=_save]").click()
    page.get_by_text("was changed successfully").wait_for()
    saved = time.monotonic()

    def refused() -> bool:
        try:
            client.chat.completions.create(model="portico/other-chat", messages=HELLO, max_tokens=2)
        except openai.PermissionDeniedError:
            return True
        return False

    wait_for(refused, timeout=2, what="the narrowed allowlist to reach the API")
    assert time.monotonic() - saved < 2
    assert client.chat.completions.create(
        model="portico/test-chat", messages=HELLO, max_tokens=2
    ).choices
    dana.refresh_from_db()
    assert dana.allowed_models == ["portico/test-chat"]
