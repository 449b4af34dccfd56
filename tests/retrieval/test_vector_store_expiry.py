# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""``expires_after`` enforced: a store expires N days after its last activity (searches
and attached files move it on, at most once a minute), an expired store is a 400 to
search or give files and reads ``status: "expired"``, and the beat task removes expired
stores' documents and bytes. Time is given explicitly, never slept."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import openai
import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from portal.celery import app as celery_app
from retrieval import collections, ingest, store_expiry, vector_stores
from retrieval.models import Chunk, Collection, Document, Posting
from retrieval.openai_shapes import vector_store_object
from retrieval.tasks import expire_vector_stores
from tests.gateway.conftest import catalog, client_for, fake, funded, make_key, server, upstream  # noqa: F401 - fixtures
from tests.retrieval.test_api import priced  # noqa: F401 - fixture
from tests.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
ONE_DAY = {"anchor": "last_active_at", "days": 1}


@pytest.fixture(autouse=True)
def _fresh_touches():
    store_expiry.forget_touches()
    yield
    store_expiry.forget_touches()


def make_store(user, *, days: int | None = 1, text: str = "Harbour notes.") -> Collection:
    policy = {"anchor": "last_active_at", "days": days} if days else None
    store = vector_stores.create_vector_store(
        user,
        name="notes",
        metadata=None,
        expires_after=policy,
        file_ids=[],
        chunking_strategy=None,
        charge=None,
    )
    ingest.ingest_file(user, store.collection_id, "notes.txt", "text/plain", text.encode())
    return Collection.objects.get(pk=store.pk)


def test_a_store_expires_its_days_after_its_last_activity(alice):
    store = make_store(alice, days=2)
    start = store.created_at
    shown = vector_store_object(store, now=start + timedelta(days=1))
    assert shown["status"] == "completed"
    assert shown["expires_at"] == int((start + timedelta(days=2)).timestamp())
    assert vector_store_object(store, now=start + timedelta(days=2))["status"] == "expired"
    # Activity a day in moves the expiry on by a day.
    store_expiry.touch([store], now=start + timedelta(days=1))
    store.refresh_from_db()
    assert store.last_active_at == start + timedelta(days=1)
    assert vector_store_object(store, now=start + timedelta(days=2))["status"] == "completed"
    assert vector_store_object(store, now=start + timedelta(days=3))["status"] == "expired"


def test_activity_is_written_at_most_once_a_minute_per_store(alice, django_assert_num_queries):
    store = make_store(alice)
    t0 = timezone.now()
    store_expiry.touch([store], now=t0)
    with django_assert_num_queries(0):  # this process wrote it within the minute
        store_expiry.touch([store], now=t0 + timedelta(seconds=30))
    store.refresh_from_db()
    assert store.last_active_at == t0
    # Another process (nothing remembered here) within the minute: the UPDATE matches
    # no row.
    store_expiry.forget_touches()
    store_expiry.touch([store], now=t0 + timedelta(seconds=59))
    store.refresh_from_db()
    assert store.last_active_at == t0
    # That process then waits its own minute: activity is at most two minutes late.
    store_expiry.touch([store], now=t0 + timedelta(seconds=100))
    store.refresh_from_db()
    assert store.last_active_at == t0
    store_expiry.touch([store], now=t0 + timedelta(seconds=119))
    store.refresh_from_db()
    assert store.last_active_at == t0 + timedelta(seconds=119)


def test_the_sweep_removes_expired_stores_documents_and_bytes_only(alice, bob):
    expired = make_store(alice)
    fresh = make_store(alice, days=30)
    forever = make_store(bob, days=None)
    stored = list(expired.documents.values_list("stored_file", flat=True))
    assert stored and all(default_storage.exists(name) for name in stored)
    later = timezone.now() + timedelta(days=1, seconds=1)

    assert store_expiry.expire_stores(now=later - timedelta(seconds=2)) == 0  # not yet
    assert store_expiry.expire_stores(now=later) == 1

    assert not Document.objects.filter(collection=expired).exists()
    assert not Chunk.objects.filter(collection=expired).exists()
    assert not Posting.objects.filter(chunk__collection=expired).exists()
    assert not any(default_storage.exists(name) for name in stored)
    expired.refresh_from_db()
    shown = vector_store_object(expired, now=later)
    assert shown["status"] == "expired" and shown["file_counts"]["total"] == 0
    assert shown["usage_bytes"] == 0 and expired.chunk_count == 0
    for kept in (fresh, forever):
        assert kept.documents.count() == 1
    assert store_expiry.expire_stores(now=later) == 0  # nothing left to do
    assert collections.collection_stats(fresh)["documents"] == 1


def test_a_store_modified_to_last_longer_is_kept(alice):
    store = make_store(alice)
    later = timezone.now() + timedelta(days=2)
    vector_stores.modify_vector_store(
        alice, store.vector_store_id, {"expires_after": {"anchor": "last_active_at", "days": 7}}
    )
    assert store_expiry.expire_stores(now=later) == 0
    assert store.documents.count() == 1


def test_the_sweep_is_a_beat_task():
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values()]
    assert any(e["task"] == "retrieval.tasks.expire_vector_stores" for e in entries)
    assert "retrieval.tasks.expire_vector_stores" in celery_app.tasks
    assert expire_vector_stores() == 0


@pytest.fixture
def sdk(client_for, server, make_key, priced) -> openai.OpenAI:
    return client_for(make_key(scopes=["alretrieval", "chat"])).with_options(timeout=60)


def test_an_expired_store_is_a_400_to_search_or_give_files_and_lists_expired(sdk):
    store = sdk.vector_stores.create(name="Old", expires_after=ONE_DAY)
    sdk.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("a.txt", b"Harbour notes.", "text/plain")
    )
    assert sdk.vector_stores.search(store.id, query="harbour").data
    Collection.objects.filter(collection_id=store.id[3:]).update(
        last_active_at=timezone.now() - timedelta(days=1, minutes=1)
    )
    shown = sdk.vector_stores.retrieve(store.id)
    assert shown.status == "expired" and shown.expires_at <= timezone.now().timestamp()
    assert [s.status for s in sdk.vector_stores.list() if s.id == store.id] == ["expired"]

    with pytest.raises(openai.BadRequestError) as refused:
        sdk.vector_stores.search(store.id, query="harbour")
    assert refused.value.code == "vector_store_expired"
    assert "expired" in refused.value.message
    new_file = sdk.files.create(file=("b.txt", b"More notes.", "text/plain"), purpose="assistants")
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.vector_stores.files.create(vector_store_id=store.id, file_id=new_file.id)
    assert refused.value.code == "vector_store_expired"
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=[new_file.id])
    assert refused.value.code == "vector_store_expired"
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.responses.create(
            model="fake-llm",
            input="harbour?",
            tools=[{"type": "file_search", "vector_store_ids": [store.id]}],
        )
    assert refused.value.code == "vector_store_expired"
    assert refused.value.param == "tools.vector_store_ids[0]"
    # Reading and deleting still work; the sweep empties it.
    assert store_expiry.expire_stores() == 1
    assert sdk.vector_stores.retrieve(store.id).file_counts.total == 0
    assert sdk.vector_stores.delete(store.id).deleted


def test_searches_and_attached_files_move_the_expiry_on(sdk):
    store = sdk.vector_stores.create(name="Busy", expires_after=ONE_DAY)
    row = Collection.objects.filter(collection_id=store.id[3:])
    hours_ago = timezone.now() - timedelta(hours=20)
    row.update(last_active_at=hours_ago)
    before = timezone.now() - timedelta(seconds=1)
    sdk.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("a.txt", b"Harbour notes.", "text/plain")
    )
    assert row.get().last_active_at >= before
    shown = sdk.vector_stores.retrieve(store.id)
    assert shown.last_active_at >= int(before.timestamp())
    assert shown.expires_at == shown.last_active_at + 86_400

    # (A store made with its files: this server has not touched it yet.)
    uploaded = sdk.files.create(
        file=("b.txt", b"Harbour notes.", "text/plain"), purpose="assistants"
    )
    other = sdk.vector_stores.create(name="Searched", expires_after=ONE_DAY, file_ids=[uploaded.id])
    wait_for(
        lambda: sdk.vector_stores.retrieve(other.id).file_counts.completed == 1,
        what="the file to be indexed",
    )
    row = Collection.objects.filter(collection_id=other.id[3:])
    row.update(last_active_at=hours_ago)
    before = timezone.now() - timedelta(seconds=1)
    response = sdk.vector_stores.with_raw_response.search(other.id, query="harbour")
    assert response.status_code == HTTPStatus.OK
    wait_for(lambda: row.get().last_active_at >= before, what="the search to touch the store")
