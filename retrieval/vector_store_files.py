"""A vector store's files (its documents) and file batches: attach, list, find, update
attributes, detach, read the parsed text; a batch attaches several at once and can be
cancelled (its files still being processed are detached)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from retrieval import openai_shapes
from retrieval.attributes import check_attributes
from retrieval.charges import PdfCharge
from retrieval.documents import delete_document_row
from retrieval.errors import RetrievalError
from retrieval.files import get_file
from retrieval.models import Collection, Document, FileBatch, Page
from retrieval.store_expiry import check_active, touch
from retrieval.vector_stores import (
    MAX_FILES_PER_CALL,
    attach_files,
    check_chunking,
    find_files,
    get_vector_store,
)

FILTERS = {
    "in_progress": [Document.Status.QUEUED, Document.Status.PROCESSING],
    "completed": [Document.Status.READY],
    "failed": [Document.Status.ERROR],
    "cancelled": [],  # a cancelled file is detached: none is listed
}


def attach_file(
    user,
    vector_store_id: str,
    file_id: str,
    attributes: dict | None,
    chunking_strategy: dict | None,
    charge: PdfCharge | None,
) -> Document:
    collection = check_active(get_vector_store(user, vector_store_id), "vector_store_id")
    attributes = check_attributes(attributes)
    chunking = check_chunking(chunking_strategy)
    file = get_file(user, file_id)
    document = attach_files(collection, [(file, attributes, chunking)], charge)[0]
    touch([collection])  # giving a store files is activity: its expiry moves on
    return document


def get_store_file(user, vector_store_id: str, file_id: str) -> tuple[Collection, Document]:
    collection = get_vector_store(user, vector_store_id)
    document = (
        Document.objects.select_related("file")
        .filter(collection=collection, file__file_id=str(file_id)[:40])
        .first()
    )
    if document is None:
        raise RetrievalError(
            404, f"No such file in this vector store: {str(file_id)[:60]!r}.", None, "file_id"
        )
    document.collection = collection
    return collection, document


def file_object(document: Document) -> dict:
    return openai_shapes.vector_store_file_object(document, document.collection.vector_store_id)


def list_store_files(
    user,
    vector_store_id: str,
    *,
    status: str | None,
    after: str | None,
    limit: int | None,
    order: str | None,
    batch_id: str | None = None,
) -> dict:
    collection = get_vector_store(user, vector_store_id)
    rows = Document.objects.select_related("file").filter(collection=collection)
    if batch_id is not None:
        rows = rows.filter(batch=get_batch(collection, batch_id))
    if status is not None:
        rows = rows.filter(status__in=FILTERS[status])

    def to_object(document: Document) -> dict:
        document.collection = collection
        return file_object(document)

    return openai_shapes.page(
        rows, "file__file_id", after=after, limit=limit, order=order, to_object=to_object
    )


def update_attributes(user, vector_store_id: str, file_id: str, attributes: dict) -> Document:
    _, document = get_store_file(user, vector_store_id, file_id)
    document.attributes = check_attributes(attributes)
    document.save(update_fields=["attributes"])
    return document


def detach_file(user, vector_store_id: str, file_id: str) -> None:
    """The document goes (passages, postings, its stored copy); the file stays."""
    _, document = get_store_file(user, vector_store_id, file_id)
    delete_document_row(document)


def file_pages(user, vector_store_id: str, file_id: str) -> dict:
    """The parsed text, one entry per page (``page`` is Portico's addition)."""
    _, document = get_store_file(user, vector_store_id, file_id)
    pages = Page.objects.filter(document=document).order_by("number")
    return {
        "object": "vector_store.file_content.page",
        "data": [{"type": "text", "text": p.text, "page": p.number} for p in pages],
        "has_more": False,
        "next_page": None,
    }


# --- Batches ------------------------------------------------------------------------------------
def get_batch(collection: Collection, batch_id: str) -> FileBatch:
    batch = FileBatch.objects.filter(collection=collection, batch_id=str(batch_id)[:40]).first()
    if batch is None:
        raise RetrievalError(404, "No such file batch.", None, "batch_id")
    return batch


def create_batch(
    user,
    vector_store_id: str,
    *,
    file_ids: list[str] | None,
    files: list[dict] | None,
    attributes: dict | None,
    chunking_strategy: dict | None,
    charge: PdfCharge | None,
) -> FileBatch:
    """``file_ids`` (with the batch's ``attributes`` and ``chunking_strategy``) or
    ``files`` (each ``{"file_id", "attributes"?, "chunking_strategy"?}``), not both."""
    collection = check_active(get_vector_store(user, vector_store_id), "vector_store_id")
    if bool(file_ids) == bool(files):
        raise RetrievalError(
            400, "Send either 'file_ids' or 'files' (not both).", "invalid_parameter", "file_ids"
        )
    shared_attributes = check_attributes(attributes)
    shared_chunking = check_chunking(chunking_strategy)
    if file_ids:
        entries = [(f, shared_attributes, shared_chunking) for f in find_files(user, file_ids)]
    else:
        if len(files) > MAX_FILES_PER_CALL:
            raise RetrievalError(
                400, f"At most {MAX_FILES_PER_CALL} files per call.", "invalid_parameter", "files"
            )
        unique: dict[str, tuple[int, dict]] = {}
        for i, entry in enumerate(files):
            unique.setdefault(str(entry.get("file_id")), (i, entry))
        entries = [
            (
                get_file(user, file_id, f"files[{i}].file_id"),
                check_attributes(entry.get("attributes", attributes), f"files[{i}].attributes"),
                check_chunking(
                    entry.get("chunking_strategy", chunking_strategy),
                    f"files[{i}].chunking_strategy",
                ),
            )
            for file_id, (i, entry) in unique.items()
        ]
    with transaction.atomic():
        batch = FileBatch.objects.create(collection=collection)
        attach_files(collection, entries, charge, batch)
    touch([collection])
    return batch


def batch_object(user, vector_store_id: str, batch_id: str) -> dict:
    collection = get_vector_store(user, vector_store_id)
    return openai_shapes.batch_object(get_batch(collection, batch_id), collection.vector_store_id)


def cancel_batch(user, vector_store_id: str, batch_id: str) -> dict:
    """Detach the batch's files still being processed; those done stay."""
    collection = get_vector_store(user, vector_store_id)
    batch = get_batch(collection, batch_id)
    if batch.cancelled_at is None:
        pending = Document.objects.filter(
            batch=batch, status__in=FILTERS["in_progress"]
        ).select_related("collection")
        removed = 0
        for document in pending:
            delete_document_row(document)
            removed += 1
        FileBatch.objects.filter(pk=batch.pk).update(
            cancelled_at=timezone.now(), cancelled_files=F("cancelled_files") + removed
        )
        batch.refresh_from_db()
    return openai_shapes.batch_object(batch, collection.vector_store_id)
