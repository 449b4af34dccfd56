"""A vector store's ``expires_after`` enforced: activity, the expired state, and the sweep.

A store with ``expires_after {"anchor": "last_active_at", "days": N}`` expires N days after
its last activity (``openai_shapes.expires_at``; before any activity, after its creation).
Searching it (the search route, the Responses ``file_search`` tool) and giving it files
(attach, batches) are activity: ``touch`` moves ``last_active_at`` on, at most once a
minute per store (a process remembers when it last tried, and the ``UPDATE`` itself only
matches a row not touched within the minute), so a busy store costs no write per search;
with several processes, activity is recorded at most two minutes late.

Once expired the store reads ``status: "expired"``; searching it or giving it files is a
400 (``vector_store_expired``), as OpenAI answers; reading, modifying and deleting it still
work. ``expire_stores`` (the ``retrieval.tasks.expire_vector_stores`` beat task) removes
expired stores' documents — passages, postings, stored bytes, PDF holds — as deleting
them one by one does; the store row stays (listed as expired, empty), and so do the
uploaded files, as with OpenAI. Every function takes ``now`` so tests drive time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from retrieval.documents import delete_document_row
from retrieval.errors import RetrievalError
from retrieval.models import Collection
from retrieval.openai_shapes import expires_at

TOUCH_EVERY = timedelta(minutes=1)

_touched: dict[int, datetime] = {}  # store pk → when this process last moved it on
_touched_lock = threading.Lock()


def is_expired(collection: Collection, now: datetime | None = None) -> bool:
    expiry = expires_at(collection)
    return expiry is not None and expiry <= (now or timezone.now())


def check_active(collection: Collection, param: str, now: datetime | None = None) -> Collection:
    """``collection``, unless it has expired: then a 400 naming ``param``."""
    if is_expired(collection, now):
        raise RetrievalError(
            400,
            f"Vector store {collection.vector_store_id} has expired "
            f"({collection.expires_after['days']} days after its last activity): it can no "
            "longer be searched or given files.",
            "vector_store_expired",
            param,
        )
    return collection


def touch(collections: Iterable[Collection], now: datetime | None = None) -> None:
    """Activity on ``collections``: ``last_active_at`` moves to ``now`` unless it was
    moved within ``TOUCH_EVERY`` (by this process, or by any: the ``UPDATE`` checks)."""
    now = now or timezone.now()
    with _touched_lock:
        due = [
            c.pk
            for c in collections
            if c.pk not in _touched or now - _touched[c.pk] >= TOUCH_EVERY or now < _touched[c.pk]
        ]
        for pk in due:
            _touched[pk] = now
    if due:
        Collection.objects.filter(
            Q(last_active_at__isnull=True) | Q(last_active_at__lte=now - TOUCH_EVERY), pk__in=due
        ).update(last_active_at=now)


def expire_stores(now: datetime | None = None) -> int:
    """Remove the documents of every store that has expired; answers how many documents
    went. A store whose policy changed meanwhile (modified, or touched just before it
    expired) is checked again under its row lock and kept."""
    now = now or timezone.now()
    removed = 0
    candidates = Collection.objects.filter(expires_after__isnull=False, documents__isnull=False)
    for collection in candidates.distinct().iterator():
        if not is_expired(collection, now):
            continue
        with transaction.atomic():
            locked = Collection.objects.select_for_update().filter(pk=collection.pk).first()
            if locked is None or not is_expired(locked, now):
                continue
        for document in locked.documents.select_related("collection").order_by("pk"):
            delete_document_row(document)
            removed += 1
    return removed


def forget_touches() -> None:
    """Tests: this process has touched nothing yet."""
    with _touched_lock:
        _touched.clear()
