"""Celery: the broker and result store (Redis, else files under the var directory),
its queues and routes, and the periodic tasks beat sends."""

from __future__ import annotations

from kombu import Queue

from ground.env import (
    env_bool,
    env_float,
    env_int,
    env_str,
)
from portal.broker import folders
from portal.settings.base import VAR_DIR, XDIST_WORKER
from portal.settings.databases import REDIS_URL
from portal.settings.documents import OCR_QUEUE, RETRIEVAL_TASK_TIME_LIMIT

# --- Celery ----------------------------------------------------------------------
CELERY_DIR = VAR_DIR / "celery"
# Without Redis: files under var/celery, written atomically (portal/broker.py).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "portico-files://localhost/"
EMBEDDED_RESULTS = f"portal.broker.AtomicFileBackend+file://{CELERY_DIR / 'results'}"
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or REDIS_URL or EMBEDDED_RESULTS
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith(("portico-files://", "filesystem://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = folders(CELERY_DIR)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Usage is drained from a queue of its own, so it never waits behind OCR pages or other
# long tasks: every worker consumes it (with the default queue), and `make run` adds a
# worker that consumes only it (bin/supervise; production: `celery worker -Q usage`).
USAGE_QUEUE = env_str("USAGE_QUEUE", "usage")
CELERY_TASK_QUEUES = [Queue("celery"), Queue(USAGE_QUEUE)]
CELERY_TASK_ROUTES: dict = {"usage.tasks.drain_usage": {"queue": USAGE_QUEUE}}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    "clear-expired-sessions": {"task": "accounts.tasks.clear_expired_sessions", "schedule": 3600.0},
    "drain-usage": {
        "task": "usage.tasks.drain_usage",
        "schedule": env_float("USAGE_DRAIN_SECONDS", 1.0),
        "options": {"expires": 10},
    },
    "release-expired-holds": {
        "task": "billing.tasks.release_expired",
        "schedule": 5.0,
        "options": {"expires": 5},
    },
}
# With Redis, a message taken by a worker that died is delivered again after the
# visibility timeout (kombu's default: an hour). It must exceed the longest task (the
# indexing task's hard limit) or a running task would be delivered twice; the sweeps
# (OCR's and retrieval's) find lost work sooner than this.
BROKER_VISIBILITY_TIMEOUT = env_int("BROKER_VISIBILITY_TIMEOUT", RETRIEVAL_TASK_TIME_LIMIT + 300)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = BROKER_VISIBILITY_TIMEOUT
    # Deployments (or test workers) sharing one Redis keep their queues apart.
    if prefix := env_str("CELERY_BROKER_KEY_PREFIX") or XDIST_WORKER:
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = f"{prefix}:"
# A dedicated queue keeps long OCR work from delaying mail and usage draining;
# run a worker with ``-Q <name>`` for it (``OCR_QUEUE``). Empty: the default queue.
if OCR_QUEUE:
    CELERY_TASK_ROUTES["ocr.tasks.process_page"] = {"queue": OCR_QUEUE}
CELERY_BEAT_SCHEDULE["retrieval-sweep-documents"] = {
    "task": "retrieval.tasks.sweep_documents",
    "schedule": 30.0,
    "options": {"expires": 25},
}
# Embedding tasks lost mid-way (retrieval.embedding_jobs.sweep_embeddings).
CELERY_BEAT_SCHEDULE["retrieval-sweep-embeddings"] = {
    "task": "retrieval.tasks.sweep_embeddings",
    "schedule": 60.0,
    "options": {"expires": 50},
}
# Vector stores past their ``expires_after``: their documents and bytes go.
CELERY_BEAT_SCHEDULE["retrieval-expire-vector-stores"] = {
    "task": "retrieval.tasks.expire_vector_stores",
    "schedule": 600.0,
    "options": {"expires": 300},
}
# Automatic retries of failed jobs, and usage events a crash kept from being emitted.
CELERY_BEAT_SCHEDULE["ocr-sweep-jobs"] = {
    "task": "ocr.tasks.sweep_jobs",
    "schedule": 30.0,
    "options": {"expires": 25},
}
CELERY_BEAT_SCHEDULE["ocr-expire-jobs"] = {
    "task": "ocr.tasks.expire_jobs",
    "schedule": 600.0,
    "options": {"expires": 300},
}
