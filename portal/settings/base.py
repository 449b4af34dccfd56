"""Where Portico lives, how it runs (DEBUG, secrets, hosts) and what it is made of:
apps, middleware, URLs, templates; security headers and cookies; time and language."""

from __future__ import annotations

from pathlib import Path

from ground.env import (
    env_bool,
    env_int,
    env_list,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parents[2]
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
# Published here, so good for one machine only: with DEBUG off the key must be set (and
# ``check --deploy`` refuses this one, copied into an environment).
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-change-me-0123456789abcdef"
SECRET_KEY = env_secret("SECRET_KEY", required=not DEBUG, fallback=DEVELOPMENT_SECRET_KEY)
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
    "ocr",
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
