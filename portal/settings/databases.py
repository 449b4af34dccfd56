"""The database (``DATABASE_URL``, else SQLite under the var directory) and the cache
(``REDIS_URL``, else local memory)."""

from __future__ import annotations

from ground.env import (
    env_int,
    env_str,
    parse_database_url,
)
from portal.settings.base import VAR_DIR, XDIST_WORKER

# --- Database -------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": parse_database_url(DATABASE_URL, pool_max=env_int("DB_POOL_MAX", 10))}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH") or VAR_DIR / "portico.sqlite3",
            "OPTIONS": {
                # WAL lets the web server and the worker read while one writes;
                # IMMEDIATE takes the write lock up front instead of failing mid-transaction.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                # How long a write waits for another writer (SQLite has one at a time).
                # Long writes (retrieval indexing) commit in batches well under it; a
                # wait that still runs out is a 503 with Retry-After, not a 500.
                "timeout": env_int("SQLITE_BUSY_SECONDS", 20),
            },
            # Tests share their database with a real worker and server process.
            "TEST": {"NAME": str(VAR_DIR / "test-portico.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# SQLite cannot enforce NULLS NOT DISTINCT; its writers are serialised anyway.
SILENCED_SYSTEM_CHECKS = ["models.W047"]

# --- Cache and Redis -------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "portico") + XDIST_WORKER,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
