"""A collection's documents: find one, its status, list them, delete one, index it again."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from ocr.storage import uses_object_storage
from retrieval import dense
from retrieval.charges import release_pdf_holds
from retrieval.collections import delete_files, drop_bare_files, get_collection, timestamp
from retrieval.embedding_jobs import dense_info, embedded_counts
from retrieval.errors import RetrievalError
from retrieval.index import remove_from_index, remove_in_batches
from retrieval.models import Document
from retrieval.pdfreading import pdf_pages_read
from retrieval.queueing import queue_indexing


def public_status(status: str) -> str:
    # The contract's status answer knows processing | ready | error: queued is processing.
    return Document.Status.PROCESSING if status == Document.Status.QUEUED else status


def get_document(user, collection_id: str, doc_id: str) -> Document:
    collection = get_collection(user, collection_id)
    document = Document.objects.filter(collection=collection, doc_id=str(doc_id)).first()
    if document is None:
        raise RetrievalError(404, "No such document.", "document_not_found", "doc_id")
    document.collection = collection
    return document


def document_status(user, collection_id: str, doc_id: str) -> dict:
    document = get_document(user, collection_id, doc_id)
    return {
        "doc_id": document.doc_id,
        "status": public_status(document.status),
        "error": document.error or None,
        "pages": document.pages,
        "pages_read": pdf_pages_read(document),
        **dense_info(document, embedded_counts([document])),
    }


def stored_file_url(document: Document) -> str | None:
    """A presigned, expiring link when storage is a bucket. With local files the API layer
    passes its own signed-link builder to ``list_documents``."""
    if document.stored_file and uses_object_storage():
        return default_storage.url(document.stored_file)
    return None


def list_documents(user, collection_id: str, *, file_url=stored_file_url) -> dict:
    collection = get_collection(user, collection_id)
    documents = list(collection.documents.order_by("-created_at", "-id"))
    dense_on = dense.enabled()
    model = dense.configured_model()
    counts = embedded_counts(documents)
    return {
        "collection_id": collection.collection_id,
        "dense_retrieval": dense_on,
        "documents": [
            {
                "doc_id": d.doc_id,
                "filename": d.filename,
                "title": d.title,
                "status": public_status(d.status),
                "mime_type": d.mime_type,
                "pages": d.pages,
                # Its passages carry vectors of the configured model (else: lexical only).
                "dense_retrieval": dense_on
                and bool(d.embedding_model)
                and d.embedding_model == model
                and counts.get(d.pk, (0, 0))[0] > 0,
                **dense_info(d, counts),
                "file_url": file_url(d),
                "created_at": timestamp(d.created_at),
            }
            for d in documents
        ],
    }


def delete_document(user, collection_id: str, doc_id: str) -> None:
    """Remove the document, its pages, passages, postings and stored file; the hold of a
    PDF not charged yet is released at once."""
    delete_document_row(get_document(user, collection_id, doc_id))


def delete_document_row(document: Document) -> None:
    """``delete_document`` once the caller's ownership was checked (``document.collection``
    loaded)."""
    name = document.stored_file
    # A large document's postings go in batches first (SQLite's write lock is free in
    # between); the last transaction takes whatever a racing task wrote since.
    remove_in_batches(document)
    with transaction.atomic():
        locked = Document.objects.select_for_update().filter(pk=document.pk).first()
        if locked is None:
            return
        release_pdf_holds([locked], document.collection.owner_id)
        remove_from_index(document)
        document.delete()
        drop_bare_files([locked.file_id])
        transaction.on_commit(lambda: delete_files([name] if name else []))


def reindex_document(user, collection_id: str, doc_id: str) -> Document:
    """Index the stored pages again (replacing the document's entries) in the background."""
    document = get_document(user, collection_id, doc_id)
    with transaction.atomic():
        Document.objects.filter(pk=document.pk).update(
            status=Document.Status.QUEUED, error="", queued_at=timezone.now(), requeues=0
        )
        queue_indexing(document.pk)
    document.status = Document.Status.QUEUED
    return document
