"""The admin for API keys, usage and users' gateway limits: audited, and never a secret."""

from __future__ import annotations

import time
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.test import Client
from django.utils import timezone

from accounts import snapshots
from accounts.key_secrets import hash_key
from accounts.keys import issue_key, revoke_key
from accounts.models import ApiKey
from billing.credits import credit
from billing.models import Wallet
from catalog.models import LatencyRollup, Provider
from tests.gateway.conftest import add_model
from tests.support.html import money_span
from tests.support.orgs import org_id
from usage.models import UsageRecord, UsageRollup


@pytest.fixture
def models(db):
    local = Provider.objects.create(name="local", kind="local")
    for public_id in ("portico/test-chat", "other-chat", "third-chat"):
        add_model(public_id, [(local, "test-chat", 1)])


@pytest.fixture
def admin_client(staff_user) -> Client:
    web = Client()
    web.force_login(staff_user)
    return web


def user_form(user, **changes) -> dict:
    """The user change form as the admin page posts it."""
    joined = timezone.localtime(user.date_joined)
    data = {
        "email": user.email,
        "name": user.name,
        "is_active": "on",
        "allowed_models": list(user.allowed_models),
        "rpm_limit": user.rpm_limit or "",
        "tpm_limit": user.tpm_limit or "",
        "rpd_limit": user.rpd_limit or "",
        "date_joined_0": joined.strftime("%Y-%m-%d"),
        "date_joined_1": joined.strftime("%H:%M:%S"),
        "last_login_0": "",
        "last_login_1": "",
    }
    data.update(changes)
    return data


def key_form(key, **changes) -> dict:
    data = {
        "name": key.name,
        "scopes": list(key.scopes),
        "allowed_models": list(key.allowed_models),
        "rpm_limit": key.rpm_limit or "",
        "tpm_limit": key.tpm_limit or "",
        "rpd_limit": key.rpd_limit or "",
        "daily_budget_usd": "",
        "monthly_budget_usd": "",
        "total_budget_usd": "",
        "expires_at_0": "",
        "expires_at_1": "",
        "ip_allowlist": "\n".join(key.ip_allowlist),
    }
    data.update(changes)
    return data


# --- Users ------------------------------------------------------------------------------
def test_narrowing_a_users_allowlist_is_logged_with_old_and_new_values(
    admin_client, staff_user, alice, models
):
    alice.allowed_models = ["portico/test-chat", "other-chat"]
    alice.save()
    key = issue_key(alice, "k").key
    snapshots._local_keys[key.hashed_key] = (time.monotonic(), None)

    response = admin_client.post(
        f"/admin/accounts/user/{alice.pk}/change/",
        user_form(alice, allowed_models=["portico/test-chat"], rpm_limit="60"),
    )

    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:3000]
    alice.refresh_from_db()
    assert alice.allowed_models == ["portico/test-chat"]
    assert alice.rpm_limit == 60
    entry = LogEntry.objects.get(object_id=str(alice.pk), action_flag=CHANGE)
    assert entry.user == staff_user
    message = entry.get_change_message()
    assert "Allowed models: [portico/test-chat, other-chat] → [portico/test-chat]" in message
    assert "Rpm limit: none → 60" in message
    assert key.hashed_key not in snapshots._local_keys, "the owner's keys must reload"


def test_the_user_form_picks_models_from_the_catalog_in_a_gateway_limits_section(
    admin_client, alice, models
):
    alice.allowed_models = ["retired-model"]
    alice.save()

    html = admin_client.get(f"/admin/accounts/user/{alice.pk}/change/").content.decode()

    assert "Gateway limits" in html
    assert '<select name="allowed_models"' in html
    assert '<option value="other-chat">other-chat</option>' in html
    # A chosen id the catalog no longer has stays visible, so saving keeps it.
    assert 'value="retired-model" selected>retired-model (not in the catalog)' in html
    for field in ("rpm_limit", "tpm_limit", "rpd_limit"):
        assert f'name="{field}"' in html


def test_the_user_list_shows_wallet_balances(admin_client, alice, bob):
    credit(org_id(alice), Decimal("12.5"), kind="adjustment", idempotency_key="admin-test")
    Wallet.objects.filter(
        organization__personal_for=bob
    ).delete()  # e.g. a user from before wallets existed

    html = admin_client.get("/admin/accounts/user/").content.decode()

    assert f'<td class="field-wallet_balance">{money_span("$12.50")}</td>' in html
    assert '<td class="field-wallet_balance">—</td>' in html


# --- API keys ---------------------------------------------------------------------------
def test_the_key_list_searches_and_filters(admin_client, alice, bob):
    mine = issue_key(alice, "alice-laptop", scopes=["chat"]).key
    theirs = issue_key(bob, "bob-server", scopes=["usage"]).key
    revoke_key(theirs)

    def listed(query: str) -> set[str]:
        html = admin_client.get(f"/admin/accounts/apikey/?{query}").content.decode()
        return {name for name in ("alice-laptop", "bob-server") if name in html}

    assert listed("q=bob%40example.com") == {"bob-server"}
    assert listed(f"q={mine.prefix}") == {"alice-laptop"}
    assert listed("q=laptop") == {"alice-laptop"}
    assert listed("status=revoked") == {"bob-server"}
    assert listed("status=active") == {"alice-laptop"}
    assert listed("scope=chat") == {"alice-laptop"}
    assert listed("scope=usage") == {"bob-server"}


def test_the_key_admin_never_shows_a_secret_or_its_hash(admin_client, alice):
    issued = issue_key(alice, "k")

    html = admin_client.get(f"/admin/accounts/apikey/{issued.key.pk}/change/").content.decode()

    assert issued.key.prefix in html
    assert issued.secret not in html
    assert issued.key.hashed_key not in html
    assert 'name="hashed_key"' not in html
    assert admin_client.get("/admin/accounts/apikey/add/").status_code == HTTPStatus.FORBIDDEN


def test_a_key_edited_in_the_admin_goes_through_the_flow_and_is_logged(
    admin_client, staff_user, alice, models
):
    issued = issue_key(alice, "k", scopes=["chat"], rpm=10)
    key = issued.key
    snapshots._local_keys[key.hashed_key] = (time.monotonic(), None)

    response = admin_client.post(
        f"/admin/accounts/apikey/{key.pk}/change/",
        key_form(key, rpm_limit="20", allowed_models=["other-chat"], daily_budget_usd="3"),
    )

    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:3000]
    key.refresh_from_db()
    assert key.rpm_limit == 20
    assert key.allowed_models == ["other-chat"]
    assert key.daily_budget_usd == Decimal("3")
    assert key.hashed_key == hash_key(issued.secret)
    assert key.hashed_key not in snapshots._local_keys
    message = LogEntry.objects.get(object_id=str(key.pk)).get_change_message()
    assert "Rpm limit: 10 → 20" in message
    assert "Allowed models: [] → [other-chat]" in message
    assert "Daily budget usd: none → $3.00" in message


def test_the_key_admin_refuses_what_the_flow_refuses(admin_client, alice, models):
    alice.allowed_models = ["portico/test-chat"]
    alice.save()
    key = issue_key(alice, "k", scopes=["chat"]).key

    response = admin_client.post(
        f"/admin/accounts/apikey/{key.pk}/change/",
        key_form(key, allowed_models=["other-chat"], ip_allowlist="nonsense"),
    )

    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "A key can only narrow its owner&#x27;s allowlist" in html
    assert "is not an IP address or CIDR range" in html
    key.refresh_from_db()
    assert key.allowed_models == []


def test_revoke_selected_revokes_and_logs(admin_client, staff_user, alice, bob):
    keys = [issue_key(alice, "a").key, issue_key(bob, "b").key]
    spared = issue_key(alice, "c").key

    response = admin_client.post(
        "/admin/accounts/apikey/",
        {"action": "revoke_selected", "_selected_action": [str(k.pk) for k in keys]},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert {k.status for k in ApiKey.objects.filter(pk__in=[k.pk for k in keys])} == {"revoked"}
    assert ApiKey.objects.get(pk=spared.pk).status == "active"
    entries = LogEntry.objects.filter(user=staff_user, action_flag=CHANGE)
    assert {e.object_id for e in entries} == {str(k.pk) for k in keys}
    assert all(e.get_change_message() == "Changed Revoked at." for e in entries)


# --- Usage (read-only) ------------------------------------------------------------------
@pytest.fixture
def usage(alice):
    record = UsageRecord.objects.create(
        request_id="req-admin-1", user=alice, model="portico/test-chat", source="api_key"
    )
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    rollup = UsageRollup.objects.create(
        hour=hour, user=alice, model="portico/test-chat", source="api_key", requests=1
    )
    latency = LatencyRollup.objects.create(
        hour=hour, model="portico/test-chat", provider="local", requests=2, latency_ms_sum=300
    )
    return {"usagerecord": record, "usagerollup": rollup, "latencyrollup": latency}


@pytest.mark.parametrize("name", ["usagerecord", "usagerollup", "latencyrollup"])
def test_usage_is_read_only_in_the_admin(admin_client, usage, name):
    obj = usage[name]
    app = {"latencyrollup": "catalog"}.get(name, "usage")
    base = f"/admin/{app}/{name}/"

    assert admin_client.get(base).status_code == HTTPStatus.OK
    assert admin_client.get(f"{base}add/").status_code == HTTPStatus.FORBIDDEN
    assert admin_client.get(f"{base}{obj.pk}/delete/").status_code == HTTPStatus.FORBIDDEN
    detail = admin_client.get(f"{base}{obj.pk}/change/")
    assert detail.status_code == HTTPStatus.OK
    assert 'name="_save"' not in detail.content.decode()
    posted = admin_client.post(f"{base}{obj.pk}/change/", {"model": "changed"})
    assert posted.status_code == HTTPStatus.FORBIDDEN


def test_usage_records_filter_and_search(admin_client, usage, alice):
    for query in (
        "source__exact=api_key",
        "status__exact=ok",
        "model=portico%2Ftest-chat",
        "stream__exact=0",
        "q=req-admin-1",
        "q=alice%40example.com",
    ):
        html = admin_client.get(f"/admin/usage/usagerecord/?{query}").content.decode()
        assert "req-admin-1" in html, query


def test_a_key_whose_owner_was_narrowed_can_still_be_edited_in_the_admin(
    admin_client, alice, models
):
    key = issue_key(alice, "k", scopes=["chat"], models=["other-chat", "third-chat"]).key
    alice.allowed_models = ["portico/test-chat", "third-chat"]
    alice.save()

    page = admin_client.get(f"/admin/accounts/apikey/{key.pk}/change/").content.decode()
    assert "other-chat (not on the owner&#x27;s allowlist)" in page
    response = admin_client.post(
        f"/admin/accounts/apikey/{key.pk}/change/", key_form(key, rpm_limit="30")
    )

    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:3000]
    key.refresh_from_db()
    assert key.rpm_limit == 30
    # The stale model is kept (it grants nothing); dropping both would widen the key.
    assert key.allowed_models == ["other-chat", "third-chat"]


def test_the_model_picker_marks_models_without_a_provider(admin_client, alice, models):
    add_model("lonely-chat", [])
    off = Provider.objects.create(name="off", kind="openai", enabled=False)
    add_model("orphan-chat", [(off, "x", 1)])

    html = admin_client.get(f"/admin/accounts/user/{alice.pk}/change/").content.decode()

    assert '<option value="lonely-chat">lonely-chat (no provider)</option>' in html
    assert '<option value="orphan-chat">orphan-chat (no provider)</option>' in html
    assert '<option value="other-chat">other-chat</option>' in html
