from __future__ import annotations

import sqlite3

from django.db import OperationalError

from ground.db import is_lock_timeout


def test_a_lock_timeout_is_told_from_other_database_errors():
    assert is_lock_timeout(sqlite3.OperationalError("database is locked"))
    assert is_lock_timeout(OperationalError("database is locked"))
    assert is_lock_timeout(OperationalError("canceling statement due to lock timeout"))
    assert not is_lock_timeout(OperationalError("no such table: retrieval_document"))
    assert not is_lock_timeout(ValueError("database is locked"))
