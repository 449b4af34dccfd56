"""Shared fixtures: alice / bob / charlie, real server and worker processes, a real browser."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from portal.celery import app as celery_app
from tests.support.cache import clear_cache
from tests.support.processes import CeleryWorker, PorticoServer, child_env
from tests.support.screenshots import artifacts_dir

# Redis keys (usage stream, rate-limit counters) of this run only; children inherit it.
os.environ["REDIS_KEY_PREFIX"] = f"portico-test-{uuid.uuid4().hex[:8]}"
# Every test talks from 127.0.0.1: only the test of the per-address limit keeps it low.
os.environ.setdefault("AUTH_FAILURES_PER_MINUTE", "1000000")
# New accounts start empty unless a test grants sign-up credit itself (a local run's
# default is a dollar); server and worker processes inherit it.
os.environ.setdefault("SIGNUP_CREDIT_USD", "0")
settings.SIGNUP_CREDIT_USD = Decimal(os.environ["SIGNUP_CREDIT_USD"])
# Dense retrieval off unless a test turns it on: the built-in e5 model embeds a few
# passages a second, which every ingest of the suite would wait for.
os.environ.setdefault("RETRIEVAL_EMBEDDING_MODEL", "")
settings.RETRIEVAL_EMBEDDING_MODEL = os.environ["RETRIEVAL_EMBEDDING_MODEL"]
# Server and worker processes refuse a bare Decimal bound to SQLite (an amount that
# skipped MoneyField's conversion would be added as a float); this process does too
# once the test database exists (see django_db_setup below).
os.environ["SQLITE_REFUSE_DECIMAL_PARAMS"] = "1"
# This process migrates the test database first (a parallel run's workers inherit the
# variable from the process that started them): off until django_db_setup turns it on.
settings.SQLITE_REFUSE_DECIMAL_PARAMS = False
# The funds leases' upkeep of this process must see the tests' transactions (real
# servers started by tests keep the default: a thread of its own).
settings.FUNDS_LEASE_UPKEEP_THREAD = False
settings.REDIS_KEY_PREFIX = os.environ["REDIS_KEY_PREFIX"]
settings.USAGE_STREAM = f"{settings.REDIS_KEY_PREFIX}:usage"
shutil.rmtree(settings.USAGE_SPOOL_DIR, ignore_errors=True)

# Tasks run inline unless a test asks for the real worker (the ``celery_worker`` fixture).
celery_app.conf.task_always_eager = True
# Playwright's sync API runs an event loop in the main thread; the ORM calls the tests
# make around it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session", autouse=True)
def _static_files() -> None:
    """Hashed static files, as production serves them (whitenoise manifest)."""
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """The test database, migrated (old migrations bind decimals), then strict money."""
    settings.SQLITE_REFUSE_DECIMAL_PARAMS = True
    yield
    settings.SQLITE_REFUSE_DECIMAL_PARAMS = False


@pytest.fixture(autouse=True)
def _fast_hasher(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache():
    from accounts.places import forget_personal_places
    from billing.wallets import forget_cached_ids

    clear_cache()
    forget_cached_ids()  # ids are reused after a rolled-back test
    forget_personal_places()
    yield


def make_user(email: str, *, staff: bool = False):
    from allauth.account.models import EmailAddress

    from accounts.models import User

    user = User.objects.create_user(
        email=email, password=PASSWORD, is_staff=staff, is_superuser=staff
    )
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


@pytest.fixture
def alice(db):
    return make_user("alice@example.com")


@pytest.fixture
def bob(db):
    return make_user("bob@example.com")


@pytest.fixture
def charlie(db):
    return make_user("charlie@example.com")


@pytest.fixture
def staff_user(db):
    return make_user("staff@example.com", staff=True)


@pytest.fixture(scope="session")
def mail_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="session")
def portico_server(django_db_setup, django_db_blocker, mail_dir):
    """Portico's real ASGI server (uvicorn) on loopback, using the test database.

    Tests that use it need ``transactional_db`` so the server sees their rows.
    """
    yield from serve_portico(mail_dir)


def serve_portico(mail_dir: Path) -> Iterator[PorticoServer]:
    """A server for a fixture to yield. A module whose pages write rows that point at
    content types, or read the catalog snapshot, gets its own (module scope): a shared
    server keeps what it cached before another module's database flush gave those rows
    new ids."""
    env = child_env(
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
        CELERY_TASK_ALWAYS_EAGER="1",
        LOCAL_MODEL_TOKENS_PER_SECOND="400",
        LOCAL_MODEL_FIRST_TOKEN_MS="20",
    )
    server = PorticoServer(env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


class SharedWorker:
    """The suite's one shared Celery worker, started when a test first asks for it.
    Tests that need the broker's queues to themselves (workers of their own that they
    kill, or none at all so documents stay queued) pause it; the next test that asks
    for it starts it again."""

    def __init__(self, env: dict[str, str], mail_dir: Path) -> None:
        self.env, self.mail_dir = env, mail_dir
        self.worker: CeleryWorker | None = None

    def ensure(self) -> CeleryWorker:
        if self.worker is None or self.worker.proc.poll() is not None:
            worker = CeleryWorker(self.env)
            worker.mail_dir = self.mail_dir
            worker.wait_ready()
            self.worker = worker
        return self.worker

    def pause(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


@pytest.fixture(scope="session")
def shared_worker(django_db_setup, tmp_path_factory) -> Iterator[SharedWorker]:
    mail = tmp_path_factory.mktemp("worker-mail")
    env = child_env(
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail),
        CELERY_TASK_ALWAYS_EAGER="0",
    )
    shared = SharedWorker(env, mail)
    try:
        yield shared
    finally:
        shared.pause()


@pytest.fixture
def celery_worker(shared_worker, transactional_db):
    """A real Celery worker process; tasks queued during the test go to it, not inline."""
    worker = shared_worker.ensure()
    celery_app.conf.task_always_eager = False
    try:
        yield worker
    finally:
        celery_app.conf.task_always_eager = True


@pytest.fixture
def no_shared_worker(shared_worker) -> None:
    """No worker but the test's own takes tasks from the broker during the test."""
    shared_worker.pause()


# --- Browser -----------------------------------------------------------------------
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


# Module scope: Playwright's sync API keeps an event loop running in this thread while
# it is started, which Django's test client (async_to_sync) cannot share.
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser context and page; a console error fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    # ``@pytest.mark.allow_http_error(403)``: the test expects a page answered with it,
    # which Chromium logs as "Failed to load resource: … status of 403".
    marker = request.node.get_closest_marker("allow_http_error")
    allowed = [f"status of {status} " for status in (marker.args if marker else ())]
    errors = [e for e in errors if not any(text in e for text in allowed)]
    if errors:
        # A 500 behind a console error: the server's own log says why.
        servers = [
            value
            for name in request.fixturenames
            if isinstance(value := request.node.funcargs.get(name), PorticoServer)
        ]
        logs = "\n".join(server.output() for server in servers)
        raise AssertionError(f"JavaScript errors on the page: {errors}\n{logs}")


def screenshot(page, name: str) -> Path:
    """Save a screenshot for reviewers beside the others (``tests.support.screenshots``)."""
    path = artifacts_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
