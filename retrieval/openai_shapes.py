"""The objects of OpenAI's Files and Vector Stores APIs, made from Portico's rows, and
their cursor pages (no database writes here).

A collection is a vector store (``vs_`` + its ``collection_id``), a document is a
vector-store file (its id is its file's id), and a document's status reads as OpenAI's:
queued or processing → ``in_progress``, ready → ``completed``, error → ``failed`` with
``last_error``. Times are Unix seconds.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from retrieval.errors import RetrievalError
from retrieval.indexing import FAILED
from retrieval.models import Collection, Document, File, FileBatch

VECTOR_STORE_ID = re.compile(r"vs_([0-9a-f]{32})")
STATUSES = {
    Document.Status.QUEUED: "in_progress",
    Document.Status.PROCESSING: "in_progress",
    Document.Status.READY: "completed",
    Document.Status.ERROR: "failed",
}
MAX_LIMIT = 100
DEFAULT_LIMIT = 20


def unix(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def collection_id_of(vector_store_id: str) -> str | None:
    """The collection id inside a vector store id, strictly ``vs_`` + 32 hex digits."""
    found = VECTOR_STORE_ID.fullmatch(str(vector_store_id))
    return found.group(1) if found else None


def file_object(file: File) -> dict:
    return {
        "id": file.file_id,
        "object": "file",
        "bytes": file.bytes,
        "created_at": unix(file.created_at),
        "filename": file.filename,
        "purpose": file.purpose,
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }


def file_counts(statuses: list[str], cancelled: int = 0) -> dict:
    counts = Counter(STATUSES[s] for s in statuses)
    return {
        "in_progress": counts["in_progress"],
        "completed": counts["completed"],
        "failed": counts["failed"],
        "cancelled": cancelled,
        "total": len(statuses) + cancelled,
    }


def expires_at(collection: Collection) -> datetime | None:
    policy = collection.expires_after
    if not policy:
        return None
    anchor = collection.last_active_at or collection.created_at
    return anchor + timedelta(days=policy["days"])


def vector_store_object(collection: Collection, now: datetime) -> dict:
    documents = list(collection.documents.values_list("status", "size_bytes"))
    counts = file_counts([status for status, _ in documents])
    expiry = expires_at(collection)
    if expiry is not None and expiry <= now:
        status = "expired"
    else:
        status = "in_progress" if counts["in_progress"] else "completed"
    return {
        "id": collection.vector_store_id,
        "object": "vector_store",
        "created_at": unix(collection.created_at),
        "name": collection.name,
        "usage_bytes": sum(size for _, size in documents),
        "file_counts": counts,
        "status": status,
        "expires_after": collection.expires_after,
        "expires_at": unix(expiry),
        "last_active_at": unix(collection.last_active_at or collection.created_at),
        "metadata": collection.metadata or {},
    }


def last_error(document: Document) -> dict | None:
    if document.status != Document.Status.ERROR:
        return None
    # OpenAI's codes: our own failure, or the file's.
    code = "server_error" if document.error == FAILED else "invalid_file"
    return {"code": code, "message": document.error or "Indexing failed."}


def chunking_strategy(document: Document) -> dict:
    if document.chunking:
        return {"type": "static", "static": dict(document.chunking)}
    return {"type": "other"}


def vector_store_file_object(document: Document, vector_store_id: str) -> dict:
    return {
        "id": document.file.file_id,
        "object": "vector_store.file",
        "created_at": unix(document.created_at),
        "vector_store_id": vector_store_id,
        "status": STATUSES[document.status],
        "last_error": last_error(document),
        "usage_bytes": document.size_bytes,
        "attributes": document.attributes or {},
        "chunking_strategy": chunking_strategy(document),
        # Portico's additions: the document's alRetrieval id and its page count.
        "doc_id": document.doc_id,
        "pages": document.pages,
    }


def batch_object(batch: FileBatch, vector_store_id: str) -> dict:
    statuses = list(batch.documents.values_list("status", flat=True))
    counts = file_counts(statuses, batch.cancelled_files)
    if batch.cancelled_at is not None:
        status = "cancelled"
    elif counts["in_progress"]:
        status = "in_progress"
    else:
        status = "completed"
    return {
        "id": batch.batch_id,
        "object": "vector_store.files_batch",
        "created_at": unix(batch.created_at),
        "vector_store_id": vector_store_id,
        "status": status,
        "file_counts": counts,
    }


def page(
    rows: QuerySet,
    id_field: str,
    *,
    after: str | None,
    limit: int | None,
    order: str | None,
    to_object,
) -> dict:
    """A cursor page of ``rows`` by ``created_at`` (then pk): ``after`` is the id of the
    last object seen (one of ``rows``: else a 400), ``limit`` 1–100 (default 20),
    ``order`` ``asc`` or ``desc`` (default)."""
    limit = DEFAULT_LIMIT if limit is None else limit
    descending = (order or "desc") == "desc"
    if after:
        mark = rows.filter(**{id_field: after}).values("created_at", "pk").first()
        if mark is None:
            raise RetrievalError(400, f"Invalid 'after': no such id {after[:60]!r}.", None, "after")
        if descending:
            beyond = Q(created_at__lt=mark["created_at"]) | Q(
                created_at=mark["created_at"], pk__lt=mark["pk"]
            )
        else:
            beyond = Q(created_at__gt=mark["created_at"]) | Q(
                created_at=mark["created_at"], pk__gt=mark["pk"]
            )
        rows = rows.filter(beyond)
    keys = ("-created_at", "-pk") if descending else ("created_at", "pk")
    found = list(rows.order_by(*keys)[: limit + 1])
    data = [to_object(row) for row in found[:limit]]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(found) > limit,
    }
