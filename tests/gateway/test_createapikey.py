from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.key_secrets import hash_key
from accounts.models import ApiKey
from accounts.organizations import personal_organization

pytestmark = pytest.mark.django_db


def test_it_prints_a_key_once_and_stores_only_its_hash(alice):
    out = StringIO()
    call_command(
        "createapikey",
        "--user",
        "alice@example.com",
        "--scopes",
        "chat,models",
        "--models",
        "fake-llm",
        "--rpm",
        "5",
        "--json",
        stdout=out,
    )
    printed = json.loads(out.getvalue())
    key = ApiKey.objects.get()
    assert printed["key"].startswith("sk-") and len(printed["key"]) >= 40
    assert key.hashed_key == hash_key(printed["key"]) and printed["key"] not in str(vars(key))
    assert (
        key.scopes == ["chat", "models"]
        and key.allowed_models == ["fake-llm"]
        and key.rpm_limit == 5
    )
    assert printed["prefix"] == key.prefix and printed["key"].startswith(key.prefix)


def test_it_refuses_unknown_users_and_scopes(alice):
    with pytest.raises(CommandError, match="No user"):
        call_command("createapikey", "--user", "nobody@example.com")
    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("createapikey", "--user", "alice@example.com", "--scopes", "admin")


def test_a_key_cannot_widen_its_owners_allowlist(alice):
    alice.allowed_models = ["fake-llm"]
    alice.save()
    with pytest.raises(CommandError, match="Not on the account's allowlist"):
        call_command("createapikey", "--user", "alice@example.com", "--models", "fake-claude")


def test_admin_prints_an_admin_key_of_the_users_organization(alice):
    out = StringIO()
    call_command("createapikey", "--admin", "--user", "alice@example.com", "--json", stdout=out)
    printed = json.loads(out.getvalue())
    key = ApiKey.objects.get(kind=ApiKey.Kind.ADMIN)
    assert printed["key"].startswith("sk-admin-") and key.hashed_key == hash_key(printed["key"])
    assert printed["organization"] == personal_organization(alice).public_id
    assert key.project is None and key.scopes == ["admin"]


def test_admin_refuses_an_organization_the_user_does_not_own(alice, bob):
    theirs = personal_organization(bob).public_id
    with pytest.raises(CommandError, match="Only an owner"):
        call_command(
            "createapikey", "--admin", "--user", "alice@example.com", "--organization", theirs
        )
    with pytest.raises(CommandError, match="No organization"):
        call_command(
            "createapikey", "--admin", "--user", "alice@example.com", "--organization", "org-x"
        )
    assert not ApiKey.objects.filter(kind=ApiKey.Kind.ADMIN).exists()
