"""A populated database from before organizations (accounts 0004, billing 0008, usage 0002)
migrates into personal organizations exactly: every balance, hold and ledger sum and every
usage sum is the same, on the same wallet rows, and every key, wallet, usage record and
rollup lands in its owner's personal organization. Run in subprocesses on a database of
its own: a temporary SQLite file, and (when the suite runs on PostgreSQL) a temporary
PostgreSQL database."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.architecture.org_migration_steps import BEFORE, USERS
from tests.support.processes import ROOT, VENV_BIN, child_env


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def shell(env: dict, step: str) -> dict:
    out = manage(
        env, "shell", "-c", f"from tests.architecture import org_migration_steps as s; s.{step}()"
    )
    return json.loads(out.strip().splitlines()[-1])


def migrate_a_populated_copy(env: dict) -> tuple[dict, dict]:
    env["SQLITE_REFUSE_DECIMAL_PARAMS"] = "0"  # old migrations bind decimals, as they did
    for app, name in BEFORE:
        manage(env, "migrate", app, name, "-v0")
    before = shell(env, "fill")
    manage(env, "migrate", "-v0")
    return before, shell(env, "read_back")


def amount(text: str) -> Decimal:
    return Decimal(0) if text == "None" else Decimal(text)  # SUM of no rows


def assert_preserved(before: dict, after: dict) -> None:
    assert sorted(after) == sorted(USERS)
    for email, old in before.items():
        new = after[email]
        assert new["owner"] and new["keys_placed"] and new["usage_placed"], email
        assert new["records"] == old["records"]
        for name in ("usage", "rollups"):
            assert amount(new[name]) == amount(old[name]), (email, name)
        if old["wallet"] is None:
            assert new["wallet"] is None
            continue
        assert new["wallet"]["pk"] == old["wallet"]["pk"]  # the same row, not a copy
        assert new["wallet"]["entries"] == old["wallet"]["entries"]
        for name in ("balance", "held", "ledger", "open_holds"):
            assert amount(new["wallet"][name]) == amount(old["wallet"][name]), (email, name)
        assert Decimal(new["wallet"]["balance"]) == Decimal(new["wallet"]["ledger"])
    assert after["amira@example.com"]["org_name"] == "Amira's organization"
    assert after["bo@example.com"]["org_name"] == "bo's organization"


def test_a_populated_sqlite_database_migrates_into_personal_organizations_exactly(tmp_path):
    env = child_env(SQLITE_PATH=str(tmp_path / "old.sqlite3"), PORTICO_VAR_DIR=str(tmp_path))
    env.pop("DATABASE_URL", None)
    before, after = migrate_a_populated_copy(env)
    assert_preserved(before, after)


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the suite runs on SQLite: the PostgreSQL copy runs with DATABASE_URL",
)
def test_a_populated_postgresql_database_migrates_into_personal_organizations_exactly(tmp_path):
    url = urlsplit(os.environ["DATABASE_URL"])
    name = f"org_migration_{uuid.uuid4().hex[:12]}"
    admin = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env = child_env(
            DATABASE_URL=urlunsplit(url._replace(path=f"/{name}")),
            PORTICO_VAR_DIR=str(tmp_path),
        )
        before, after = migrate_a_populated_copy(env)
        assert_preserved(before, after)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
