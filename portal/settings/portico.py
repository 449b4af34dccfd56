"""Portico's own knobs: credits, holds and leases, routing, the built-in models, request
bodies, metrics and card top-ups."""

from __future__ import annotations

import os
from pathlib import Path

from ground.env import (
    env_bool,
    env_decimal,
    env_int,
    env_str,
)
from portal.settings.base import DEBUG, VAR_DIR

# --- Portico ---------------------------------------------------------------------
DEMO_CREDIT_USD = env_decimal("DEMO_CREDIT_USD", "5.00")
# Granted once to every new account when its e-mail address is verified (at sign-up
# when verification is off), so a first call needs no admin. A local run (DEBUG)
# grants a dollar; production grants nothing unless this is set.
SIGNUP_CREDIT_USD = env_decimal("SIGNUP_CREDIT_USD", "1.00" if DEBUG else "0")
READYZ_TIMEOUT_SECONDS = env_int("READYZ_TIMEOUT_SECONDS", 3)
AUTH_FAILURES_PER_MINUTE = env_int("AUTH_FAILURES_PER_MINUTE", 30)
DEFAULT_KEY_RPM = env_int("DEFAULT_KEY_RPM", 600)
USAGE_SPOOL_DIR = VAR_DIR / "usage-spool"
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "portico")
USAGE_STREAM = f"{REDIS_KEY_PREFIX}:usage"
# A hold or funds lease the process that took it no longer renews (it renews them every
# min(TTL / 3, 5) s while it lives) is released this long after: a killed process's
# reservations stop holding funds within HOLD_TTL_SECONDS (billing.leases).
HOLD_TTL_SECONDS = env_int("HOLD_TTL_SECONDS", 30)
# Busy wallets' priced requests are admitted against an in-memory funds lease of the
# web process (billing.leases) instead of one database hold each; 0 = always per-request.
FUNDS_LEASES = env_bool("FUNDS_LEASES", default=True)
# The leases' upkeep (renewals, top-ups) runs in a thread of its own, so a burst of
# requests cannot delay it; in-process tests run it in the thread that holds their
# transaction instead.
FUNDS_LEASE_UPKEEP_THREAD = env_bool("FUNDS_LEASE_UPKEEP_THREAD", default=True)
# A bare Decimal bound to SQLite is an error instead of a float (ground.money): the
# test suite turns it on so an amount that skipped MoneyField's conversion cannot pass.
SQLITE_REFUSE_DECIMAL_PARAMS = env_bool("SQLITE_REFUSE_DECIMAL_PARAMS", default=False)
DEPLOYMENT_COOLDOWN_SECONDS = env_int("DEPLOYMENT_COOLDOWN_SECONDS", 30)
DEPLOYMENT_FAILURES_BEFORE_COOLDOWN = env_int("DEPLOYMENT_FAILURES_BEFORE_COOLDOWN", 3)
UPSTREAM_MAX_CONNECTIONS = env_int("UPSTREAM_MAX_CONNECTIONS", 1000)
LOCAL_MODEL_TOKENS_PER_SECOND = env_int("LOCAL_MODEL_TOKENS_PER_SECOND", 40)
LOCAL_MODEL_FIRST_TOKEN_MS = env_int("LOCAL_MODEL_FIRST_TOKEN_MS", 250)

# --- Metrics (/metrics, docs/metrics.md) -------------------------------------------
METRICS_ENABLED = env_bool("METRICS_ENABLED", default=True)
# Bearer token a scraper sends. Without one, /metrics answers only loopback and
# private-network peers that came through no proxy (portal.metrics.allowed).
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Where web and worker processes keep their numbers for one scrape to add up;
# bin/supervise empties it on start. prometheus_client reads the variable on import,
# so it is set here, before any app module imports the library.
PROMETHEUS_MULTIPROC_DIR = Path(env_str("PROMETHEUS_MULTIPROC_DIR") or VAR_DIR / "metrics")
if METRICS_ENABLED:
    PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(PROMETHEUS_MULTIPROC_DIR)

# --- Billing ---------------------------------------------------------------------
# Card top-ups through Stripe Checkout appear only when both keys are set; the wallet
# is credited by the signed webhook (POST /billing/stripe/webhook), never by the redirect.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "https://api.stripe.com")
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env_int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300)
# An admin's adjustment larger than this (either way) asks for a second, explicit
# confirmation in the admin before it is posted.
ADJUSTMENT_CONFIRM_ABOVE_USD = env_decimal("ADJUSTMENT_CONFIRM_ABOVE_USD", "1000")
TOPUP_MIN_USD = env_decimal("TOPUP_MIN_USD", "5")
TOPUP_MAX_USD = env_decimal("TOPUP_MAX_USD", "500")
# Wrong redemption codes allowed per user and per IP address in an hour.
REDEEM_FAILURES_PER_HOUR = env_int("REDEEM_FAILURES_PER_HOUR", 10)

# Request bodies (portal.guard): /v1 JSON (chat prompts, embeddings) and portal forms.
API_MAX_BODY_MB = env_int("API_MAX_BODY_MB", 20)
PAGE_MAX_BODY_MB = env_int("PAGE_MAX_BODY_MB", 2)
# The guard bounds bodies by path; Django's own cap only has to let the largest through.
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_MB * 1024 * 1024
