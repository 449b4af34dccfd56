"""A caller's collections: create, rename, list, describe, delete."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Q

from retrieval import dense
from retrieval.charges import release_pdf_holds
from retrieval.errors import RetrievalError
from retrieval.models import Collection, Document, File
from retrieval.text import clean_text


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def get_collection(user, collection_id: str) -> Collection:
    collection = Collection.objects.filter(collection_id=str(collection_id), owner=user).first()
    if collection is None:
        raise RetrievalError(404, "No such collection.", "collection_not_found", "collection_id")
    return collection


def collection_info(collection: Collection, *, dense_on: bool | None = None) -> dict:
    dense_on = dense.enabled() if dense_on is None else dense_on
    return {
        "collection_id": collection.collection_id,
        "name": collection.name,
        "created_at": timestamp(collection.created_at),
        "dense_retrieval": dense_on,
        "embedding_model": dense.configured_model() if dense_on else None,
    }


def collection_name(name: str | None) -> str:
    name = clean_text(name or "").replace("\n", " ")
    if len(name) > 200:
        raise RetrievalError(400, "name is limited to 200 characters.", "invalid_name", "name")
    return name


def create_collection(user, name: str | None = None) -> Collection:
    return Collection.objects.create(owner=user, name=collection_name(name))


def rename_collection(user, collection_id: str, name: str | None) -> Collection:
    collection = get_collection(user, collection_id)
    collection.name = collection_name(name)
    collection.save(update_fields=["name"])
    return collection


def list_collections(user) -> dict:
    collections = Collection.objects.filter(owner=user).order_by("-created_at", "-id")
    dense_on = dense.enabled()
    return {"collections": [collection_info(c, dense_on=dense_on) for c in collections]}


def delete_collection(user, collection_id: str) -> None:
    """Remove the collection and its documents; the holds of PDFs not charged yet are
    released at once."""
    collection = get_collection(user, collection_id)
    delete_collection_row(collection)


def delete_collection_row(collection: Collection) -> None:
    """``delete_collection`` once the caller's ownership was checked."""
    files = [name for name in collection.documents.values_list("stored_file", flat=True) if name]
    with transaction.atomic():
        unbilled = list(collection.documents.select_for_update().filter(billed=False))
        file_pks = list(collection.documents.values_list("file_id", flat=True))
        release_pdf_holds(unbilled, collection.owner_id)
        collection.delete()  # postings go with it (a pre_delete receiver)
        drop_bare_files(file_pks)
        transaction.on_commit(lambda: delete_files(files))


def collection_stats(collection: Collection) -> dict:
    counts = collection.documents.aggregate(
        documents=Count("id"), ready=Count("id", filter=Q(status=Document.Status.READY))
    )
    return {
        **collection_info(collection),
        **counts,
        "passages": collection.chunk_count,
    }


def drop_bare_files(file_pks: list[int | None]) -> None:
    """A file made by an alRetrieval ingest has no bytes of its own (they are its
    document's): it goes with its last document."""
    pks = [pk for pk in file_pks if pk]
    if pks:
        File.objects.filter(pk__in=pks, stored_file="", documents=None).delete()


def delete_files(names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(Exception):
            default_storage.delete(name)
