"""Portico's settings: one file, every knob from the environment.

With nothing configured Portico runs on one machine: SQLite, a local-memory cache,
an in-process rate limiter, local file storage, console e-mail and a Celery broker
on the file system. ``DATABASE_URL``, ``REDIS_URL`` and ``STORAGE_*`` switch to the
production parts. The README's configuration table lists every variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from kombu import Queue

from ground.env import (
    env_bool,
    env_decimal,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# A parallel test run (pytest-xdist) keeps each of its workers' files, cache keys and
# broker queues apart; the servers and workers a test starts are told the same
# (tests/support/processes.py: child_env).
XDIST_WORKER = env_str("PYTEST_XDIST_WORKER")
VAR_DIR = Path(env_str("PORTICO_VAR_DIR") or BASE_DIR / "var") / XDIST_WORKER
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", default=True)
# With DEBUG on, pages still answer errors with Portico's own 404/403/400/500 pages
# (make run is DEBUG); a developer who wants Django's technical pages (URL patterns,
# tracebacks) sets DEBUG_ERROR_PAGES=1.
DEBUG_ERROR_PAGES = env_bool("DEBUG_ERROR_PAGES", default=False)
SECRET_KEY = env_secret(
    "SECRET_KEY", required=not DEBUG, fallback="dev-only-insecure-key-change-me-0123456789abcdef"
)
# Keys are hashed (HMAC-SHA-256) and provider secrets encrypted under this; rotating
# SECRET_KEY must not invalidate every API key, so it can be set separately.
API_KEY_SECRET = env_secret("API_KEY_SECRET", required=False, fallback=SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL")  # public base URL, e.g. https://portico.example.com
SITE_NAME = env_str("SITE_NAME", "Portico")  # how pages and e-mails name this deployment

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "portal.staticfiles.PorticoStaticFilesConfig",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # serves Swagger UI's assets locally for /v1/docs (no CDN)
    "template_partials",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "portal",
    "accounts",
    "billing",
    "playground",
    "catalog",
    "usage",
    "gateway",
    "retrieval",
]

GITHUB_CLIENT_ID = env_str("GITHUB_CLIENT_ID")
GOOGLE_CLIENT_ID = env_str("GOOGLE_CLIENT_ID")
SOCIALACCOUNT_PROVIDERS: dict = {}
if GITHUB_CLIENT_ID:
    INSTALLED_APPS.append("allauth.socialaccount.providers.github")
    SOCIALACCOUNT_PROVIDERS["github"] = {
        "APPS": [{"client_id": GITHUB_CLIENT_ID, "secret": env_str("GITHUB_CLIENT_SECRET")}],
        "SCOPE": ["user:email"],
    }
if GOOGLE_CLIENT_ID:
    INSTALLED_APPS.append("allauth.socialaccount.providers.google")
    SOCIALACCOUNT_PROVIDERS["google"] = {
        "APPS": [{"client_id": GOOGLE_CLIENT_ID, "secret": env_str("GOOGLE_CLIENT_SECRET")}],
        "SCOPE": ["profile", "email"],
    }

MIDDLEWARE = [
    "portal.middleware.ApiSurfaceMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
    "portal.middleware.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Portico's error pages while DEBUG is on too (DEBUG_ERROR_PAGES=1: Django's). After
    # the user is known (the page's header) and before allauth, whose exceptions
    # (ImmediateHttpResponse) are answers, not errors.
    "portal.error_pages.ErrorPagesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.middleware.DatabaseBusyMiddleware",
]

ROOT_URLCONF = "portal.urls"
CSRF_FAILURE_VIEW = "portal.error_pages.csrf_failure"
ASGI_APPLICATION = "portal.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.site",
            ],
            "builtins": ["portal.templatetags.money"],
        },
    }
]

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

# --- Celery ----------------------------------------------------------------------
CELERY_DIR = VAR_DIR / "celery"
# Without Redis: files under var/celery, written atomically (portal/broker.py).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "portico-files://localhost/"
EMBEDDED_RESULTS = f"portal.broker.AtomicFileBackend+file://{CELERY_DIR / 'results'}"
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or REDIS_URL or EMBEDDED_RESULTS
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith(("portico-files://", "filesystem://")):
    from portal.broker import folders

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

# --- Auth and accounts (django-allauth) --------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
# Confirming the address in the browser that signed up signs the user in (allauth does
# this only for the session that is signing up, never from a link opened elsewhere).
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_RATE_LIMITS = {
    "login": env_str("LOGIN_RATE_LIMIT_IP", "30/m/ip"),
    "login_failed": env_str("LOGIN_FAILED_RATE_LIMIT", "5/5m/key,20/m/ip"),
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Portico")
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True

# --- E-mail ----------------------------------------------------------------------
# Locally (DEBUG, nothing configured) mail goes to files under var/mail/ and each
# message's first link is logged on one line, so `make run` shows where to click.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "portal.mail.LinkLoggingFileBackend"
    if DEBUG
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Portico <noreply@portico.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Who users write to for credit or help; empty: the first superuser's address, else
# DEFAULT_FROM_EMAIL's (``accounts.flows.support_email``).
SUPPORT_EMAIL = env_str("SUPPORT_EMAIL")

# --- Static and media files --------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
STORAGE_BUCKET = env_str("STORAGE_BUCKET")
STORAGE_ENDPOINT_URL = env_str("STORAGE_ENDPOINT_URL")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if STORAGE_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STORAGE_BUCKET,
            "endpoint_url": STORAGE_ENDPOINT_URL or None,
            "access_key": env_str("STORAGE_ACCESS_KEY_ID") or None,
            "secret_key": env_str("STORAGE_SECRET_ACCESS_KEY") or None,
            "region_name": env_str("STORAGE_REGION") or None,
            "querystring_auth": True,
            "querystring_expire": env_int("STORAGE_URL_EXPIRY_SECONDS", 3600),
            "file_overwrite": False,
        },
    }
if DEBUG and not env_bool("PORTICO_MANIFEST_STATIC", default=True):
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
WHITENOISE_MAX_AGE = 3600
# Source maps are kept (CSS/JS reference them) but are not worth compressing.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [
    "jpg",
    "jpeg",
    "png",
    "gif",
    "webp",
    "zip",
    "gz",
    "tgz",
    "bz2",
    "tbz",
    "xz",
    "br",
    "swf",
    "flv",
    "woff",
    "woff2",
    "3gp",
    "3gpp",
    "asf",
    "avi",
    "m4v",
    "mov",
    "mp4",
    "mpeg",
    "mpg",
    "webm",
    "wmv",
    "map",
]

# --- Security (production) ---------------------------------------------------------
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
)
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"

# --- Internationalisation --------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging ---------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "bare": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "bare": {"class": "logging.StreamHandler", "formatter": "bare"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # The local mail backend's "✉ subject — to address: link" lines start with ✉ in
        # make run's output, from the web server and from the worker (whose own format
        # would put "[time: WARNING/ForkPoolWorker-2]" in front): a handler of their own.
        "portal.mail": {"handlers": ["bare"], "level": "INFO", "propagate": False},
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "pikepdf": {"level": "WARNING"},  # announces its logger bridge on every import
    },
}

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

# --- OCR -------------------------------------------------------------------------
# Uploads are validated before queuing; one Celery task per page. Pages are charged at
# the ``unit_price`` of the catalog model OCR_PAGE_MODEL (free when it is not enabled).
INSTALLED_APPS.append("ocr")
OCR_MAX_UPLOAD_MB = env_int("OCR_MAX_UPLOAD_MB", 50)
# A page task taken and not finished this long, or never taken this long, was lost.
OCR_PAGE_STALL_SECONDS = env_int("OCR_PAGE_STALL_SECONDS", 600)
OCR_PAGE_LOST_SECONDS = env_int("OCR_PAGE_LOST_SECONDS", 3600)
RETRIEVAL_MAX_UPLOAD_MB = env_int("RETRIEVAL_MAX_UPLOAD_MB", 50)
RETRIEVAL_MAX_PAGES = env_int("RETRIEVAL_MAX_PAGES", 2000)
# One set of limits for every format (PDF, DOCX, PPTX, TXT, MD, JSON pages): pages per
# document, characters per page (flowing text is split into pages this long) and per
# document.
RETRIEVAL_MAX_PAGE_CHARS = env_int("RETRIEVAL_MAX_PAGE_CHARS", 200_000)
RETRIEVAL_MAX_DOCUMENT_CHARS = env_int("RETRIEVAL_MAX_DOCUMENT_CHARS", 20_000_000)
# Threads per web process for queries, ingest and deletion (retrieval.offload).
RETRIEVAL_THREADS = env_int("RETRIEVAL_THREADS", 4)
# Indexing tasks (retrieval.indexing): a PDF is read for at most RETRIEVAL_TASK_SECONDS
# per task (then a new task reads on); an indexing task is stopped at
# RETRIEVAL_TASK_TIME_LIMIT. The sweep queues again a document whose worker has shown
# no sign of life for RETRIEVAL_STALL_SECONDS, or that waited RETRIEVAL_LOST_SECONDS in
# the queue, and gives up after RETRIEVAL_RETRY_CAP lost tasks.
RETRIEVAL_TASK_SECONDS = env_int("RETRIEVAL_TASK_SECONDS", 300)
RETRIEVAL_TASK_TIME_LIMIT = env_int("RETRIEVAL_TASK_TIME_LIMIT", 1800)
RETRIEVAL_STALL_SECONDS = env_int("RETRIEVAL_STALL_SECONDS", 600)
RETRIEVAL_LOST_SECONDS = env_int("RETRIEVAL_LOST_SECONDS", 3600)
RETRIEVAL_RETRY_CAP = env_int("RETRIEVAL_RETRY_CAP", 3)
CELERY_BEAT_SCHEDULE["retrieval-sweep-documents"] = {
    "task": "retrieval.tasks.sweep_documents",
    "schedule": 30.0,
    "options": {"expires": 25},
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
# The priced catalog entry a query is charged as; the embedding model for dense retrieval.
RETRIEVAL_MODEL = env_str("RETRIEVAL_MODEL", "portico/alretrieval")
RETRIEVAL_EMBEDDING_MODEL = env_str("RETRIEVAL_EMBEDDING_MODEL")
# Request bodies (portal.guard): /v1 JSON (chat prompts, embeddings) and portal forms.
API_MAX_BODY_MB = env_int("API_MAX_BODY_MB", 20)
PAGE_MAX_BODY_MB = env_int("PAGE_MAX_BODY_MB", 2)
# The guard bounds bodies by path; Django's own cap only has to let the largest through.
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_MB * 1024 * 1024
OCR_MAX_PAGES = env_int("OCR_MAX_PAGES", 500)
OCR_MAX_PAGE_PIXELS = env_int("OCR_MAX_PAGE_PIXELS", 150_000_000)
# Decompression limits (ocr/engine/limits.py), checked before pdfium decodes anything.
OCR_MAX_STREAM_MB = env_int("OCR_MAX_STREAM_MB", 32)
OCR_MAX_PAGE_CONTENT_MB = env_int("OCR_MAX_PAGE_CONTENT_MB", 4)
OCR_MAX_PAGE_IMAGE_MB = env_int("OCR_MAX_PAGE_IMAGE_MB", 160)
OCR_MAX_DECODED_MB = env_int("OCR_MAX_DECODED_MB", 512)
OCR_JOB_TTL_HOURS = env_int("OCR_JOB_TTL_HOURS", 72)
OCR_DPI = env_int("OCR_DPI", 300)
OCR_RETRY_CAP = env_int("OCR_RETRY_CAP", 3)
# The first automatic retry of a failed job waits this long; each next one twice as long.
OCR_AUTO_RETRY_SECONDS = env_int("OCR_AUTO_RETRY_SECONDS", 60)
OCR_PAGE_MODEL = env_str("OCR_PAGE_MODEL", "portico/ocr")
# Signed links to page images served by Portico when storage is local files.
OCR_FILE_URL_SECONDS = env_int("OCR_FILE_URL_SECONDS", 3600)
# A dedicated queue keeps long OCR work from delaying mail and usage draining;
# run a worker with ``-Q <name>`` for it. Empty: the default queue.
OCR_QUEUE = env_str("OCR_QUEUE")
if OCR_QUEUE:
    CELERY_TASK_ROUTES["ocr.tasks.process_page"] = {"queue": OCR_QUEUE}
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
