"""Database conditions that are about waiting, not about a bug (no Django state)."""

from __future__ import annotations

# SQLite's busy timeout ran out ("database is locked"), or PostgreSQL's lock_timeout.
_BUSY = ("database is locked", "database table is locked", "lock timeout")
RETRY_AFTER_SECONDS = 2


def is_lock_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` (a driver's or Django's ``OperationalError``) means the database
    was busy with another writer for longer than this connection waits."""
    return type(exc).__name__ == "OperationalError" and any(
        text in str(exc).lower() for text in _BUSY
    )
