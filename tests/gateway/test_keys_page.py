"""The Keys page through Django's test client: create, show once, edit, revoke, rotate."""

from __future__ import annotations

import html as html_module
import re
import time
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.test import Client
from django.utils import timezone

from accounts import snapshots
from accounts.key_rules import KeyError_
from accounts.key_secrets import hash_key
from accounts.key_settings import update_key
from accounts.keys import issue_key, revoke_key
from accounts.models import ALL_SCOPES, ApiKey
from catalog.models import Provider
from tests.gateway.conftest import add_model
from tests.support.html import visible_text

HTMX = {"HTTP_HX_REQUEST": "true"}
SECRET = re.compile(r"sk-[A-Za-z0-9_-]{40,}")


@pytest.fixture
def models(db):
    local = Provider.objects.create(name="local", kind="local")
    add_model("portico/test-chat", [(local, "test-chat", 1)], price_in="0.5", price_out="1.5")
    add_model("portico/test-embedding", [(local, "test-embedding", 1)], type="embedding")
    add_model("other-chat", [(local, "test-chat", 1)])
    add_model("undeployed", [])
    return local


@pytest.fixture
def web(db) -> Client:
    """Django's test client (``client`` is the openai SDK in this directory's conftest)."""
    return Client()


@pytest.fixture
def alice_client(web, alice) -> Client:
    web.force_login(alice)
    return web


def create(client, **overrides) -> object:
    data = {"name": "ci", "scopes": ["chat", "models"], **overrides}
    return client.post("/keys/", data)


def shown_secret(response) -> str:
    match = re.search(r'id="new-key-secret"[^>]*value="(sk-[^"]+)"', response.content.decode())
    assert match, "the page shows no new secret"
    return match.group(1)


def test_the_page_needs_a_sign_in(web):
    response = web.get("/keys/")
    assert response.status_code == HTTPStatus.FOUND
    assert "/accounts/login/" in response["Location"]


def test_the_page_lists_my_keys_and_not_others(alice_client, alice, bob):
    issue_key(alice, "alice-prod", rpm=60, daily_budget=Decimal("5"))
    issue_key(bob, "bob-secret-project")

    response = alice_client.get("/keys/")

    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "alice-prod" in html
    assert "bob-secret-project" not in html
    assert '60&nbsp;RPM <span class="muted key-source">(this key)' in html
    assert "$5.00 per day" in visible_text(html)
    assert "never" in html  # last used
    assert not SECRET.search(html), "a list must never contain a secret"


def test_creating_a_key_shows_its_secret_once(alice_client, alice, models):
    response = create(alice_client, models=["portico/test-chat"])

    assert response.status_code == HTTPStatus.OK
    secret = shown_secret(response)
    key = ApiKey.objects.get(owner=alice)
    assert key.hashed_key == hash_key(secret)
    assert secret.startswith(key.prefix)
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    # Ready-to-run snippets: this server's base URL, the key's model, the secret.
    assert 'base_url="http://testserver/v1"' in html
    assert 'baseURL: "http://testserver/v1"' in html
    assert "curl http://testserver/v1/chat/completions" in html
    assert 'model="portico/test-chat"' in html
    assert html.count(secret) == 4  # the field and three snippets

    again = alice_client.get("/keys/")
    assert secret not in again.content.decode()
    assert key.prefix in again.content.decode()


def test_a_new_key_carries_every_setting_of_the_form(alice_client, alice, models):
    expiry = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    create(
        alice_client,
        name="  nightly batch ",
        scopes=["chat", "embeddings"],
        models=["portico/test-chat", "portico/test-embedding"],
        rpm="60",
        tpm="10000",
        rpd="5000",
        daily_budget="1.5",
        monthly_budget="20",
        total_budget="100.25",
        expires_at=expiry,
        ip_allowlist="10.0.0.0/8\n\n 203.0.113.7 \n",
    )

    key = ApiKey.objects.get(owner=alice)
    assert key.name == "nightly batch"
    assert key.scopes == ["chat", "embeddings"]
    assert key.allowed_models == ["portico/test-chat", "portico/test-embedding"]
    assert (key.rpm_limit, key.tpm_limit, key.rpd_limit) == (60, 10000, 5000)
    assert key.daily_budget_usd == Decimal("1.5")
    assert key.monthly_budget_usd == Decimal("20")
    assert key.total_budget_usd == Decimal("100.25")
    assert key.expires_at.strftime("%Y-%m-%dT%H:%M") == expiry
    assert key.ip_allowlist == ["10.0.0.0/8", "203.0.113.7/32"]


def test_the_form_offers_all_scopes_and_only_models_i_may_use(alice_client, alice, models):
    alice.allowed_models = ["portico/test-chat", "undeployed"]
    alice.save()

    html = alice_client.get("/keys/").content.decode()

    for scope in ALL_SCOPES:
        assert re.search(rf'<input type="checkbox" name="scopes" value="{scope}"[^>]*checked', html)
    assert 'value="portico/test-chat"' in html
    assert 'value="other-chat"' not in html  # not on alice's allowlist
    assert 'value="undeployed"' not in html  # no deployment


def test_htmx_gets_the_fragment_not_the_page(alice_client, models):
    response = alice_client.post("/keys/", {"name": "ci", "scopes": ["chat"]}, **HTMX)

    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="keys-body"')
    assert 'id="new-key-secret"' in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "   ", "This field is required."),
        ("scopes", [], "Choose at least one scope."),
        ("rpm", "0", "greater than or equal to 1"),
        ("daily_budget", "-1", "greater than or equal to 0"),
        ("ip_allowlist", "10.0.0.0/8\nnot-an-ip", "is not an IP address or CIDR range"),
        ("expires_at", "2001-01-01T00:00", "The expiry must be in the future."),
        ("models", ["no-such-model"], "Select a valid choice"),
    ],
)
def test_a_bad_value_is_reported_next_to_its_field(
    alice_client, alice, models, field, value, message
):
    response = create(alice_client, **{field: value})

    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert not ApiKey.objects.filter(owner=alice).exists()
    error_id = f"new-key-{field}_error"
    assert f'id="{error_id}"' in html
    assert message in html.split(f'id="{error_id}"')[1][:300]
    # The field (or its group of checkboxes) points at the error for screen readers.
    assert re.search(rf'aria-describedby="[^"]*{error_id}', html)
    assert 'id="new-key-secret"' not in html


def test_a_model_outside_my_account_allowlist_cannot_be_chosen(alice_client, alice, models):
    alice.allowed_models = ["portico/test-chat"]
    alice.save()

    response = create(alice_client, models=["other-chat"])

    assert "new-key-models_error" in response.content.decode()
    assert not ApiKey.objects.filter(owner=alice).exists()


def test_editing_a_key_changes_its_settings_and_drops_the_cached_snapshot(
    alice_client, alice, models
):
    issued = issue_key(alice, "svc", scopes=["chat"], rpm=10)
    key = issued.key
    snapshots._local_keys[key.hashed_key] = (time.monotonic(), None)

    form = alice_client.get(f"/keys/{key.pk}/edit/")
    assert form.status_code == HTTPStatus.OK
    assert 'value="10"' in form.content.decode()
    response = alice_client.post(
        f"/keys/{key.pk}/edit/",
        {
            "name": "svc renamed",
            "scopes": ["chat", "models"],
            "models": ["portico/test-chat"],
            "rpm": "120",
            "tpm": "",
            "rpd": "1000",
            "monthly_budget": "12.5",
            "ip_allowlist": "192.168.0.0/16",
        },
    )

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == f"/keys/#key-{key.pk}"
    key.refresh_from_db()
    assert key.name == "svc renamed"
    assert key.scopes == ["chat", "models"]
    assert key.allowed_models == ["portico/test-chat"]
    assert (key.rpm_limit, key.tpm_limit, key.rpd_limit) == (120, None, 1000)
    assert key.monthly_budget_usd == Decimal("12.5")
    assert key.ip_allowlist == ["192.168.0.0/16"]
    assert key.hashed_key == hash_key(issued.secret), "editing keeps the secret"
    assert key.hashed_key not in snapshots._local_keys, "the hot path must reload the key"


def test_an_htmx_edit_swaps_the_form_and_then_the_updated_card(alice_client, alice, models):
    key = issue_key(alice, "svc", scopes=["chat"]).key

    form = alice_client.get(f"/keys/{key.pk}/edit/", **HTMX).content.decode()
    assert "<html" not in form
    assert f'id="key-{key.pk}"' in form
    assert f'hx-post="/keys/{key.pk}/edit/"' in form

    card = alice_client.post(
        f"/keys/{key.pk}/edit/", {"name": "svc", "scopes": ["chat"], "rpm": "30"}, **HTMX
    ).content.decode()
    assert card.lstrip().startswith("<article")
    assert "30&nbsp;RPM" in card
    assert "Saved." in card


def test_an_edit_with_errors_keeps_the_key_unchanged(alice_client, alice, models):
    key = issue_key(alice, "svc", scopes=["chat"], rpm=10).key

    response = alice_client.post(
        f"/keys/{key.pk}/edit/", {"name": "svc", "scopes": ["chat"], "rpm": "-5"}, **HTMX
    )

    assert f"key-{key.pk}-rpm_error" in response.content.decode()
    key.refresh_from_db()
    assert key.rpm_limit == 10


def test_an_expired_key_keeps_its_expiry_while_other_settings_change(alice, models):
    key = issue_key(alice, "old").key
    past = timezone.now() - timedelta(days=1)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=past)
    key.refresh_from_db()

    changed = update_key(key, expires_at=past, rpm=5)

    assert changed == ["rpm_limit"]
    with pytest.raises(KeyError_, match="future"):
        update_key(key, expires_at=past - timedelta(days=1))


def test_update_key_refuses_unknown_settings_and_revoked_keys(alice):
    key = issue_key(alice, "k").key
    with pytest.raises(KeyError_, match="Unknown"):
        update_key(key, hashed_key="x")
    with pytest.raises(KeyError_, match="negative"):
        update_key(key, daily_budget=Decimal("-1"))
    revoke_key(key)
    with pytest.raises(KeyError_, match="revoked"):
        update_key(key, rpm=5)


def test_revoking_asks_first_and_works_without_javascript(alice_client, alice):
    key = issue_key(alice, "doomed").key

    confirm = alice_client.get(f"/keys/{key.pk}/revoke/")
    html = confirm.content.decode()
    assert confirm.status_code == HTTPStatus.OK
    assert "Revoke “doomed”?" in html
    assert f'action="/keys/{key.pk}/revoke/"' in html
    key.refresh_from_db()
    assert key.revoked_at is None, "showing the confirmation must not revoke"

    response = alice_client.post(f"/keys/{key.pk}/revoke/")

    assert response.status_code == HTTPStatus.FOUND
    key.refresh_from_db()
    assert key.status == "revoked"
    page = alice_client.get("/keys/").content.decode()
    assert "Revoked keys (1)" in page
    assert f'href="/keys/{key.pk}/edit/"' not in page


def test_an_htmx_revoke_answers_with_the_revoked_card(alice_client, alice):
    key = issue_key(alice, "doomed").key

    card = alice_client.post(f"/keys/{key.pk}/revoke/", **HTMX).content.decode()

    assert card.lstrip().startswith("<article")
    assert 'class="badge bad">revoked<' in card
    assert "Revoked." in card


def test_rotating_shows_a_new_secret_once_and_keeps_the_settings(alice_client, alice, models):
    issued = issue_key(alice, "svc", scopes=["chat"], models=["portico/test-chat"], rpm=7)

    confirm = alice_client.get(f"/keys/{issued.key.pk}/rotate/")
    assert "Rotate “svc”?" in confirm.content.decode()
    response = alice_client.post(f"/keys/{issued.key.pk}/rotate/", **HTMX)

    secret = shown_secret(response)
    assert secret != issued.secret
    assert "the previous secret has stopped working" in response.content.decode()
    key = ApiKey.objects.get(pk=issued.key.pk)
    assert key.hashed_key == hash_key(secret)
    assert (key.scopes, key.allowed_models, key.rpm_limit) == (
        ["chat"],
        ["portico/test-chat"],
        7,
    )
    assert secret not in alice_client.get("/keys/").content.decode()


def test_a_revoked_key_cannot_be_edited_or_rotated(alice_client, alice):
    key = issue_key(alice, "gone").key
    revoke_key(key)

    edit = alice_client.post(f"/keys/{key.pk}/edit/", {"name": "x", "scopes": ["chat"]})
    rotate = alice_client.post(f"/keys/{key.pk}/rotate/", **HTMX)

    assert edit.status_code == HTTPStatus.FOUND
    assert "A revoked key cannot be rotated." in rotate.content.decode()
    assert rotate["HX-Retarget"] == f"#key-{key.pk}"
    key.refresh_from_db()
    assert key.name == "gone"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/keys/{pk}/"),
        ("get", "/keys/{pk}/edit/"),
        ("post", "/keys/{pk}/edit/"),
        ("get", "/keys/{pk}/revoke/"),
        ("post", "/keys/{pk}/revoke/"),
        ("get", "/keys/{pk}/rotate/"),
        ("post", "/keys/{pk}/rotate/"),
    ],
)
def test_another_users_key_is_not_found(web, alice, bob, method, path):
    key = issue_key(alice, "alice-only").key
    web.force_login(bob)

    response = getattr(web, method)(path.format(pk=key.pk), {"name": "x", "scopes": ["chat"]})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert ApiKey.objects.get(pk=key.pk).hashed_key == key.hashed_key
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


# --- Docs -------------------------------------------------------------------------------
def test_the_docs_are_a_quick_start(web, models):
    response = web.get("/docs/")

    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "http://testserver/v1" in html
    for scope in ALL_SCOPES:
        assert f"<code>{scope}</code>" in html
    for status in (400, 401, 402, 403, 404, 409, 410, 413, 415, 422, 429, 500, 502, 503):
        assert f'<td class="num" data-label="Status">{status}</td>' in html
    for text in ("x-ratelimit-remaining", "Retry-After", "stream=True", "embeddings.create"):
        assert text in html
    assert 'model="portico/test-chat"' in html
    assert 'model="portico/test-embedding"' in html
    assert 'href="/v1/docs"' in html
    # The Retrieval page's link lands on a section, and the vector stores have theirs.
    for anchor in ("retrieval", "vector-stores"):
        assert f'id="{anchor}"' in html and f'href="#{anchor}"' in html
    assert "vector_stores.search" in html and "/files/…" in html


def test_the_openapi_reference_loads_no_asset_from_a_cdn(web):
    response = web.get("/v1/docs")

    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "cdn.jsdelivr.net" not in html
    assert re.search(r'src="/static/ninja/swagger-ui-bundle[^"]*\.js"', html)


def test_a_key_whose_owner_was_narrowed_can_still_be_edited(alice_client, alice, models):
    key = issue_key(alice, "svc", scopes=["chat"], models=["other-chat", "undeployed"]).key
    alice.allowed_models = ["portico/test-chat"]
    alice.save()

    form = alice_client.get(f"/keys/{key.pk}/edit/").content.decode()
    assert "unavailable: not on your account&#x27;s allowlist" in form
    assert "unavailable: no provider" in form
    response = alice_client.post(
        f"/keys/{key.pk}/edit/",
        {"name": "svc", "scopes": ["chat"], "models": ["other-chat", "undeployed"], "rpm": "5"},
    )

    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    key.refresh_from_db()
    assert key.rpm_limit == 5
    assert key.allowed_models == ["other-chat", "undeployed"]


def test_a_stale_model_can_be_unticked_but_no_new_one_added(alice_client, alice, models):
    key = issue_key(alice, "svc", scopes=["chat"], models=["other-chat"]).key
    alice.allowed_models = ["portico/test-chat"]
    alice.save()

    alice_client.post(
        f"/keys/{key.pk}/edit/",
        {"name": "svc", "scopes": ["chat"], "models": ["portico/test-chat"]},
    )
    key.refresh_from_db()
    assert key.allowed_models == ["portico/test-chat"]
    with pytest.raises(KeyError_, match="Not on the account's allowlist: other-chat"):
        update_key(key, models=["portico/test-chat", "other-chat"])


def card_text(client, key) -> str:
    """The key card's text as a reader sees it (tags and spacing flattened)."""
    html = client.get(f"/keys/{key.pk}/", **HTMX).content.decode()
    text = html_module.unescape(re.sub(r"<[^>]+>", " ", html))
    return re.sub(r"\s+", " ", text)


def test_a_card_shows_the_accounts_tighter_limits_and_models(alice_client, alice, models):
    """An admin held the account to test-chat at 5 a minute: the card of a key with no
    limits of its own says so, and where each limit comes from."""
    alice.allowed_models = ["portico/test-chat"]
    alice.rpm_limit = 5
    alice.save()
    loose = issue_key(alice, "loose").key
    text = card_text(alice_client, loose)
    assert "Models portico/test-chat (your account)" in text
    assert "5 RPM (your account)" in text
    assert "600 RPM" not in text and "Models all" not in text

    narrow = issue_key(alice, "narrow", rpm=30, tpm=1000).key
    narrow.allowed_models = ["portico/test-chat", "portico/test-embedding"]
    narrow.save()  # models the account lost since the key was made stay visible
    text = card_text(alice_client, narrow)
    assert "5 RPM (your account; this key: 30)" in text
    assert "1,000 TPM (this key)" in text
    assert "portico/test-chat (this key, within your account's)" in text
    assert "portico/test-embedding not allowed for your account" in text

    alice.allowed_models, alice.rpm_limit = [], None
    alice.save()
    text = card_text(alice_client, loose)
    assert "Models all" in text and "600 RPM (default)" in text
