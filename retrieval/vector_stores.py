"""A caller's vector stores, which are their alRetrieval collections: create (with files),
list, find, modify, delete — and attaching files to one (a file becomes a document
through the same ingest as ``/v1/alRetrieval``'s: ``retrieval.ingest.ingest_checked``).

Deleting a store removes its documents (passages, postings, stored copies; PDF holds
released), also those still being indexed: an indexing task whose document is gone
writes nothing more. The files themselves stay (as OpenAI's do), except those an
alRetrieval ingest made, which have no bytes of their own.
"""

from __future__ import annotations

import dataclasses
import functools

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from retrieval import openai_shapes
from retrieval.attributes import check_metadata, check_plain_text
from retrieval.charges import PdfCharge
from retrieval.collections import collection_name, delete_collection_row
from retrieval.errors import RetrievalError
from retrieval.files import checked_content, get_file
from retrieval.ingest import ingest_checked
from retrieval.models import Collection, Document, File, FileBatch

MAX_FILES_PER_CALL = 500
MIN_CHUNK_TOKENS, MAX_CHUNK_TOKENS = 100, 4096
MAX_EXPIRY_DAYS = 365


def get_vector_store(user, vector_store_id: str, param: str = "vector_store_id") -> Collection:
    """The caller's store; any other id (another user's, malformed) is the same 404."""
    collection_id = openai_shapes.collection_id_of(vector_store_id)
    collection = (
        Collection.objects.filter(collection_id=collection_id, owner=user).first()
        if collection_id
        else None
    )
    if collection is None:
        raise RetrievalError(
            404,
            f"No such vector store: {str(vector_store_id)[:60]!r}.",
            "vector_store_not_found",
            param,
        )
    return collection


def check_chunking(strategy: dict | None, param: str = "chunking_strategy") -> dict:
    """``{}`` for ``auto`` (Portico's page-and-section passages), else the static sizes."""
    if strategy is None or strategy.get("type") == "auto":
        return {}
    static = strategy.get("static") if strategy.get("type") == "static" else None
    if not isinstance(static, dict):
        raise RetrievalError(
            400, f"Invalid '{param}': 'auto' or 'static'.", "invalid_parameter", f"{param}.type"
        )
    size, overlap = static.get("max_chunk_size_tokens"), static.get("chunk_overlap_tokens", 400)
    valid = (
        type(size) is int
        and type(overlap) is int
        and MIN_CHUNK_TOKENS <= size <= MAX_CHUNK_TOKENS
        and 0 <= overlap <= size // 2
    )
    if not valid:
        raise RetrievalError(
            400,
            f"Invalid '{param}.static': max_chunk_size_tokens is {MIN_CHUNK_TOKENS} to "
            f"{MAX_CHUNK_TOKENS} and chunk_overlap_tokens at most half of it.",
            "invalid_parameter",
            f"{param}.static",
        )
    return {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap}


def check_expires_after(value: dict | None) -> dict | None:
    if value is None:
        return None
    days = value.get("days")
    if value.get("anchor") != "last_active_at" or type(days) is not int:
        raise RetrievalError(
            400,
            "Invalid 'expires_after': {'anchor': 'last_active_at', 'days': 1 to 365}.",
            "invalid_parameter",
            "expires_after",
        )
    if not 1 <= days <= MAX_EXPIRY_DAYS:
        raise RetrievalError(
            400, "Invalid 'expires_after.days': 1 to 365.", "invalid_parameter", "expires_after"
        )
    return {"anchor": "last_active_at", "days": days}


def store_name(name: str | None) -> str:
    return collection_name(check_plain_text(name or "", "name"))


def find_files(user, file_ids: list[str], param: str = "file_ids") -> list[File]:
    """The caller's files by id (each a 404 when not theirs), once each, in order."""
    if len(file_ids) > MAX_FILES_PER_CALL:
        raise RetrievalError(
            400, f"At most {MAX_FILES_PER_CALL} files per call.", "invalid_parameter", param
        )
    unique = list(dict.fromkeys(file_ids))
    return [get_file(user, file_id, f"{param}[{i}]") for i, file_id in enumerate(unique)]


def is_pdf(file: File) -> bool:
    return file.mime_type == "application/pdf"


def attach_files(
    collection: Collection,
    files: list[tuple[File, dict, dict]],
    charge: PdfCharge | None,
    batch: FileBatch | None = None,
) -> list[Document]:
    """Make a document of each ``(file, attributes, chunking)`` not in the store yet (one
    already there is answered as it is). Every file is checked before any is stored; a
    PDF's pages are held under a request id of its own (``charge``'s, numbered)."""
    checked = [(file, checked_content(file)) for file, _, _ in files]
    out = []
    pdfs = 0
    with transaction.atomic():  # one refusal (a 402) attaches none of them
        for (file, (upload, data)), (_, attributes, chunking) in zip(checked, files, strict=True):
            existing = Document.objects.filter(collection=collection, file=file).first()
            if existing is not None:
                existing.file = file
                out.append(existing)
                continue
            this_charge = charge
            if charge is not None and upload.extension == ".pdf":
                pdfs += 1
                if pdfs > 1:
                    this_charge = dataclasses.replace(
                        charge, request_id=f"{charge.request_id}_{pdfs}"
                    )
            document = ingest_checked(
                collection,
                upload,
                data,
                this_charge,
                file=file,
                attributes=attributes,
                chunking=chunking,
                batch=batch,
            )
            out.append(document)
    return out


def create_vector_store(
    user,
    *,
    name: str | None,
    metadata: dict | None,
    expires_after: dict | None,
    file_ids: list[str],
    chunking_strategy: dict | None,
    charge: PdfCharge | None,
) -> Collection:
    name = store_name(name)
    metadata = check_metadata(metadata)
    expires_after = check_expires_after(expires_after)
    chunking = check_chunking(chunking_strategy)
    files = find_files(user, file_ids)
    with transaction.atomic():
        collection = Collection.objects.create(
            owner=user, name=name, metadata=metadata, expires_after=expires_after
        )
        attach_files(collection, [(f, {}, chunking) for f in files], charge)
    return collection


def list_vector_stores(user, *, after: str | None, limit: int | None, order: str | None) -> dict:
    collection_id = openai_shapes.collection_id_of(after) if after else None
    if after and collection_id is None:
        raise RetrievalError(400, "Invalid 'after': not a vector store id.", None, "after")
    return openai_shapes.page(
        Collection.objects.filter(owner=user),
        "collection_id",
        after=collection_id,
        limit=limit,
        order=order,
        to_object=functools.partial(openai_shapes.vector_store_object, now=timezone.now()),
    )


def store_choices(user) -> list[dict]:
    """The user's own vector stores for a picker (the playground's "Chat with your
    documents"), newest first: id, name and how many documents are ready to search."""
    stores = (
        Collection.objects.filter(owner=user)
        .annotate(ready=Count("documents", filter=Q(documents__status=Document.Status.READY)))
        .order_by("-created_at", "-id")
    )
    return [
        {
            "id": store.vector_store_id,
            "name": store.name or "Untitled collection",
            "ready": store.ready,
        }
        for store in stores
    ]


def modify_vector_store(user, vector_store_id: str, changes: dict) -> Collection:
    """``changes``: the fields the caller sent (``name``, ``metadata``, ``expires_after``)."""
    collection = get_vector_store(user, vector_store_id)
    fields = []
    if "name" in changes:
        collection.name = store_name(changes["name"])
        fields.append("name")
    if "metadata" in changes:
        collection.metadata = check_metadata(changes["metadata"])
        fields.append("metadata")
    if "expires_after" in changes:
        collection.expires_after = check_expires_after(changes["expires_after"])
        fields.append("expires_after")
    if fields:
        collection.save(update_fields=fields)
    return collection


def delete_vector_store(user, vector_store_id: str) -> None:
    delete_collection_row(get_vector_store(user, vector_store_id))


def needs_ocr(user, file_ids: list[str]) -> bool:
    """Whether attaching these files reads a PDF (the OCR model is used, and paid)."""
    return any(is_pdf(file) for file in find_files(user, file_ids))
