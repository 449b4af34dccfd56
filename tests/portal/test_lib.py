from __future__ import annotations

import re

import pytest

from ground.crypto import decrypt, encrypt, keyed_hash
from ground.env import ConfigError, env_bool, env_int, env_list, env_secret, parse_database_url
from ground.ids import new_request_id
from ground.tokens import estimate_input_tokens, estimate_messages_tokens, estimate_text_tokens


def test_env_helpers_read_typed_values(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env_bool("X_BOOL") is True
    assert env_int("X_INT", 1) == 42
    assert env_list("X_LIST") == ["a", "b", "c"]
    assert env_int("X_MISSING", 7) == 7


def test_env_helpers_name_the_variable_that_is_wrong(monkeypatch):
    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ConfigError, match="X_BOOL"):
        env_bool("X_BOOL")
    with pytest.raises(ConfigError, match="SECRET_X"):
        env_secret("SECRET_X", required=True)


def test_a_database_url_becomes_a_pooled_postgres_entry():
    entry = parse_database_url(
        "postgres://u:p%40ss@db.local:6543/portico?sslmode=require", pool_max=5
    )
    assert entry["NAME"] == "portico" and entry["PASSWORD"] == "p@ss" and entry["PORT"] == "6543"
    assert entry["OPTIONS"]["sslmode"] == "require"
    assert entry["OPTIONS"]["pool"]["max_size"] == 5
    with pytest.raises(ConfigError):
        parse_database_url("mysql://x/y")


def test_secrets_round_trip_and_hashes_depend_on_the_server_secret():
    token = encrypt("server-secret", "sk-upstream")
    assert token != "sk-upstream" and decrypt("server-secret", token) == "sk-upstream"
    with pytest.raises(ValueError, match="server secret changed"):
        decrypt("another-secret", token)
    assert keyed_hash("a", "sk-x") != keyed_hash("b", "sk-x")
    assert len(keyed_hash("a", "sk-x")) == 64


def test_token_estimates_work_offline_for_english_and_arabic():
    assert estimate_text_tokens("") == 0
    assert estimate_text_tokens("hello world!") == 3
    assert estimate_text_tokens("مرحبا") == 3  # ten bytes of UTF-8
    messages = [{"role": "user", "content": [{"type": "text", "text": "hi there"}]}]
    assert estimate_messages_tokens(messages) == 3 + 4 + 2
    assert estimate_input_tokens(["abcd", [1, 2, 3]]) == 1 + 3


def test_request_ids_look_like_openais_and_do_not_repeat():
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"req_[0-9a-f]{32}", i) for i in ids)
