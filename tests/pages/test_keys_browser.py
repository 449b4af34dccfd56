"""The Keys and Docs pages in a real Chromium, and the keys they make against the real API."""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlsplit

import openai
import pytest
from playwright.sync_api import expect

from accounts.models import ApiKey, User
from billing.credits import credit
from tests.conftest import PASSWORD, screenshot
from tests.support.browser import sign_up_and_sign_in
from tests.support.orgs import org_id
from tests.support.processes import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sdk(server, secret: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=secret, base_url=server.url + "/v1", max_retries=0, timeout=20)


def create_key(page, name: str, model: str) -> str:
    """Fill the create form (the model picked through the filter box); return the shown secret."""
    form = page.locator("#new-key")
    if not form.evaluate("details => details.open"):
        page.get_by_text("Create a key").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Filter models").fill(model.split("/")[-1])
    page.get_by_role("checkbox", name=f"{model} llm", exact=True).check()
    page.get_by_label("Requests per minute").fill("120")
    page.get_by_label("Daily cap (USD)").fill("2.50")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key-secret")
    secret.wait_for()
    return secret.input_value()


def test_a_new_user_creates_a_key_sees_it_once_and_calls_the_api(
    page, portico_server, mail_dir, local_models
):
    email = "kim@example.com"
    sign_up_and_sign_in(page, portico_server, mail_dir, email, PASSWORD)
    user = User.objects.get(email=email)
    credit(org_id(user), Decimal("5"), kind="adjustment", idempotency_key=f"test-keys:{user.pk}")

    page.goto(portico_server.url + "/keys/")
    assert page.get_by_role("heading", name="API keys", level=1).is_visible()
    screenshot(page, "keys")

    secret = create_key(page, "laptop", "portico/test-chat")

    assert secret.startswith("sk-")
    panel = page.locator("#key-secret")
    assert panel.get_by_text("shown only this once").is_visible()
    assert secret in page.locator("#snippet-python").inner_text()
    assert portico_server.url + "/v1" in page.locator("#snippet-curl").inner_text()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    panel.get_by_role("button", name="Copy key").click()
    wait_for(
        lambda: page.evaluate("navigator.clipboard.readText()") == secret,
        timeout=5,
        what="the key on the clipboard",
    )
    card = page.locator("article.key-card", has_text="laptop")
    card.get_by_text("120 RPM").wait_for()
    card.get_by_text("$2.50 per day").wait_for()
    screenshot(page, "keys-created")

    page.reload()
    assert page.locator("#key-secret").count() == 0
    assert secret not in page.content()
    assert page.locator("article.key-card", has_text="laptop").is_visible()

    client = sdk(portico_server, secret)
    # The server reloads its catalog within about a second.
    wait_for(
        lambda: "portico/test-chat" in {m.id for m in client.models.list().data},
        timeout=10,
        what="the server to see the test catalog",
    )
    reply = client.chat.completions.create(
        model="portico/test-chat", messages=[{"role": "user", "content": "Hello!"}]
    )
    assert reply.choices[0].message.content
    with pytest.raises(openai.PermissionDeniedError) as refused:
        client.chat.completions.create(
            model="portico/other-chat", messages=[{"role": "user", "content": "Hello!"}]
        )
    assert refused.value.code == "model_not_allowed"


def test_a_key_is_edited_rotated_and_revoked_in_place(page, portico_server, mail_dir, local_models):
    email = "lee@example.com"
    sign_up_and_sign_in(page, portico_server, mail_dir, email, PASSWORD)
    user = User.objects.get(email=email)
    credit(org_id(user), Decimal("5"), kind="adjustment", idempotency_key=f"test-keys:{user.pk}")
    page.goto(portico_server.url + "/keys/")
    first = create_key(page, "ci", "portico/test-chat")
    key = ApiKey.objects.get(owner=user)

    # Edit: the form replaces the card, saving brings the card back with the new limit.
    page.get_by_role("link", name="Edit ci").click()
    editor = page.locator(f"#key-{key.pk} form")
    # htmx focuses the form's [autofocus] Name field after it settles; typing before
    # that lands mid-fill in Name (CI once saved "30ci" with the old limit).
    expect(editor.get_by_label("Name")).to_be_focused(timeout=30_000)
    editor.get_by_label("Requests per minute").fill("30")
    editor.get_by_role("checkbox", name="portico/other-chat llm", exact=True).check()
    editor.get_by_role("button", name="Save changes").click()
    card = page.locator(f"#key-{key.pk}")
    # expect() names the card's text when it fails (a run once timed out here, unexplained).
    expect(card).to_contain_text("Saved.", timeout=30_000)
    expect(card).to_contain_text("30 RPM", timeout=30_000)  # once htmx has settled the new card
    # Focus moves to the card's name once htmx settles the swap.
    page.wait_for_function("id => document.activeElement?.id === id", arg=f"key-{key.pk}-name")
    key.refresh_from_db()
    assert key.rpm_limit == 30
    assert sorted(key.allowed_models) == ["portico/other-chat", "portico/test-chat"]

    # Rotate: confirm in the card, the new secret is shown once, the old one stops.
    page.get_by_role("link", name="Rotate ci").click()
    page.get_by_role("button", name="Rotate key").click()
    page.locator("#key-secret").get_by_text("New secret for").wait_for()
    second = page.locator("#new-key-secret").input_value()
    assert second != first
    client = sdk(portico_server, second)
    wait_for(
        lambda: "portico/other-chat" in {m.id for m in client.models.list().data},
        timeout=10,
        what="the server to see the rotated key and the catalog",
    )
    with pytest.raises(openai.AuthenticationError):
        sdk(portico_server, first).models.list()

    # Revoke: a confirmation step, then the card says so and the API refuses the key.
    page.get_by_role("link", name="Revoke ci").click()
    page.get_by_role("heading", name="Revoke “ci”?").wait_for()
    page.get_by_role("button", name="Revoke key").click()
    page.locator(f"#key-{key.pk}").get_by_text("Revoked.").wait_for()

    def refused() -> bool:
        try:
            client.models.list()
        except openai.AuthenticationError as exc:
            return exc.code == "revoked_api_key"
        return False

    wait_for(refused, timeout=10, what="the server to refuse the revoked key")


def test_the_keys_page_fits_a_phone(page, portico_server, mail_dir, local_models):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_up_and_sign_in(page, portico_server, mail_dir, "mo@example.com", PASSWORD)
    page.goto(portico_server.url + "/keys/")
    create_key(page, "phone", "portico/test-chat")

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the keys page scrolls sideways on a phone ({width}px)"
    screenshot(page, "keys-phone")


def test_the_docs_are_a_quick_start(page, portico_server):
    page.goto(portico_server.url + "/docs/")

    assert page.get_by_role("heading", name="API docs", level=1).is_visible()
    assert portico_server.url + "/v1" in page.locator("#docs-base-url").inner_text()
    screenshot(page, "docs")
    toc = page.get_by_role("navigation", name="On this page")
    for section in ("Base URL", "Scopes", "Streaming", "Embeddings", "Errors", "Rate limits"):
        toc.get_by_role("link", name=section).click()
        assert page.get_by_role("heading", name=section, level=2).is_visible()

    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the docs scroll sideways on a phone ({width}px)"


def test_the_openapi_reference_renders_without_a_cdn(page, portico_server):
    hosts = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname))

    page.goto(portico_server.url + "/docs/")
    page.get_by_role("link", name="OpenAPI reference").first.click()
    page.wait_for_url(re.compile(r".*/v1/docs$"))
    page.get_by_role("heading", name=re.compile("Portico API")).wait_for()
    page.get_by_text("/v1/chat/completions").first.wait_for()

    assert hosts == {"127.0.0.1"}, f"the page loaded assets from {hosts - {'127.0.0.1'}}"
