# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""The embedded default (SQLite, one writer at a time): indexing commits in batches that
let other writers in, and a write that waited out the busy timeout is a 503 with
``Retry-After``, never a 500 (the API and the pages)."""

from __future__ import annotations

import sqlite3
from http import HTTPStatus

import httpx
import pytest
from django.db import connection

from retrieval import collections, index, indexing, ingest
from retrieval.models import Chunk, Collection, Document
from tests.gateway.conftest import (  # noqa: F401 - fixtures
    catalog,
    fake,
    funded,
    make_key,
    upstream,
    wait_for_test_catalog,
)
from tests.support.processes import PorticoServer, child_env

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "sqlite", reason="SQLite's single writer: the embedded default"
    ),
]


def other_writer(timeout: float = 0.0) -> sqlite3.Connection:
    """A connection of another process's kind: its own file handle and lock."""
    return sqlite3.connect(connection.settings_dict["NAME"], timeout=timeout, isolation_level=None)


def test_indexing_commits_in_batches_that_let_other_writers_in(alice, monkeypatch):
    cid = collections.create_collection(alice).collection_id
    page = " ".join(f"lighthouse{n % 50} harbour ships" for n in range(300))
    writes: list[str] = []
    beat = indexing.beat

    def beat_and_write(document_pk: int) -> None:
        beat(document_pk)
        # Between two batches no transaction is open: another writer gets the lock
        # without waiting at all.
        other = other_writer(timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            writes.append("ok")
        except sqlite3.OperationalError as exc:
            writes.append(str(exc))
        finally:
            other.close()

    monkeypatch.setattr(indexing, "beat", beat_and_write)
    doc = ingest.ingest_pages(alice, cid, "Log", None, [page] * 600)
    passages = Chunk.objects.filter(document=doc).count()
    assert Document.objects.get(pk=doc.pk).status == Document.Status.READY
    assert passages > 3 * index.BATCH_PASSAGES
    assert len(writes) >= passages // index.BATCH_PASSAGES
    assert set(writes) == {"ok"}
    assert Collection.objects.get(collection_id=cid).chunk_count == passages


@pytest.fixture(scope="module")
def impatient_server(django_db_setup):
    """A server that waits one second for SQLite's write lock."""
    server = PorticoServer(child_env(CELERY_TASK_ALWAYS_EAGER="1", SQLITE_BUSY_SECONDS="1"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_a_write_that_waits_out_the_lock_is_a_503_with_retry_after(
    impatient_server, catalog, make_key, alice
):
    wait_for_test_catalog(impatient_server.url, catalog, make_key)
    secret = make_key(scopes=["alretrieval"])
    base = impatient_server.url + "/v1/alRetrieval/collections"
    headers = {"Authorization": f"Bearer {secret}"}
    browser = page_client(impatient_server, alice)
    holder = other_writer()
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock, longer than 1 s
    try:
        response = httpx.post(base, headers=headers, json={"name": "notes"}, timeout=30)
        page = browser.post("/retrieval/new", data={"name": "notes"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE, response.text
    assert response.headers["Retry-After"] == "2"
    error = response.json()["error"]
    assert (error["code"], error["type"]) == ("database_busy", "service_unavailable")
    assert page.status_code == HTTPStatus.SERVICE_UNAVAILABLE, page.text
    assert page.headers["Retry-After"] == "2"
    # Once the other writer is done, the same request succeeds.
    assert httpx.post(base, headers=headers, json={}, timeout=30).status_code == HTTPStatus.OK


def page_client(server, user) -> httpx.Client:
    """A signed-in browser-like client (session cookie, CSRF token) of the real server."""
    from django.conf import settings as django_settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    client = httpx.Client(base_url=server.url, timeout=30)
    client.cookies.set(django_settings.SESSION_COOKIE_NAME, session.session_key)
    token = "x" * 32
    client.cookies.set(django_settings.CSRF_COOKIE_NAME, token)
    client.headers.update({"X-CSRFToken": token, "Referer": server.url + "/retrieval/"})
    return client
