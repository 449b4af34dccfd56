"""Retrieval use cases: collections, ingest, indexing, status, query, deletion.

The API layer (and the portal, tasks, commands) call these; each answers the shape of
the API contract (``../shared/API.md``, alRetrieval) or raises ``RetrievalError``.
Ingest validates and extracts *before* writing anything: a hostile or broken file is a
400 with nothing stored. Indexing runs in a Celery task queued with ``delay_on_commit``.

PDF: validated with ``ocr.engine.inspect_pdf`` at ingest; the task
(``retrieval.indexing``) reads each page with ``ocr.engine.process_page`` (text layer
where present, OCR otherwise). Its pages are charged like ``/v1/ocr``: held at ingest
(``retrieval.charges``), settled when read, released when the document is deleted
first.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
import threading
from datetime import UTC, datetime

import orjson
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from ground.errors import ApiError
from ocr import engine
from ocr.availability import check_engine_available
from ocr.uploads import PDF_ERROR_STATUS  # the same refusal statuses as /v1/ocr
from ocr.storage import uses_object_storage
from retrieval import conf, dense
from retrieval.charges import PdfCharge, hold_pdf_pages, release_pdf_holds
from retrieval.extract import EXTRACTORS, ExtractionError, Page, extract, page_text
from retrieval.extract import pages_from_strings as _pages_from_strings
from retrieval.index import remove_from_index, remove_in_batches
from retrieval.models import Collection, Document
from retrieval.models import Page as PageRow
from retrieval.office import document_too_long
from retrieval.text import clean_text

log = logging.getLogger(__name__)

MAX_TOP_K = 50
DEFAULT_TOP_K = 8
MAX_QUERY_CHARS = 4000
MIME_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
}
# What clients send for a file part besides the exact type (curl, browsers, SDKs).
GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}
ALSO_ACCEPTED = {
    ".docx": {"application/zip", "application/x-zip-compressed"},
    ".pptx": {"application/zip", "application/x-zip-compressed"},
    ".md": {"text/plain", "text/x-markdown"},
    ".markdown": {"text/plain", "text/x-markdown"},
    ".pdf": {"application/x-pdf"},
}
pdfium_lock = threading.Lock()  # pdfium is not thread-safe


class RetrievalError(ApiError):
    """A refusal that leaves as ``{"error": {...}}`` with this status."""

    def __init__(
        self, status: int, message: str, code: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(status, message, code=code, param=param)

    def __repr__(self) -> str:
        return f"RetrievalError({self.status}, {self.message!r}, code={self.code!r})"


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Collections ------------------------------------------------------------------------
def get_collection(user, collection_id: str) -> Collection:
    collection = Collection.objects.filter(collection_id=str(collection_id), owner=user).first()
    if collection is None:
        raise RetrievalError(404, "No such collection.", "collection_not_found", "collection_id")
    return collection


def collection_info(collection: Collection, *, dense_on: bool | None = None) -> dict:
    return {
        "collection_id": collection.collection_id,
        "name": collection.name,
        "created_at": _timestamp(collection.created_at),
        "dense_retrieval": dense.enabled() if dense_on is None else dense_on,
    }


def _collection_name(name: str | None) -> str:
    name = clean_text(name or "").replace("\n", " ")
    if len(name) > 200:
        raise RetrievalError(400, "name is limited to 200 characters.", "invalid_name", "name")
    return name


def create_collection(user, name: str | None = None) -> Collection:
    return Collection.objects.create(owner=user, name=_collection_name(name))


def rename_collection(user, collection_id: str, name: str | None) -> Collection:
    collection = get_collection(user, collection_id)
    collection.name = _collection_name(name)
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
    files = [name for name in collection.documents.values_list("stored_file", flat=True) if name]
    with transaction.atomic():
        unbilled = list(collection.documents.select_for_update().filter(billed=False))
        release_pdf_holds(unbilled, collection.owner_id)
        collection.delete()  # postings go with it (a pre_delete receiver)
        transaction.on_commit(lambda: _delete_files(files))


def _delete_files(names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(Exception):
            default_storage.delete(name)


# --- Ingest ---------------------------------------------------------------------------
def _extension(filename: str) -> str:
    return posixpath.splitext(filename.lower())[1]


def is_pdf(filename: str) -> bool:
    """Whether an upload of this name is read as a PDF (by OCR, which must be admitted)."""
    return _extension(clean_filename(filename)) == ".pdf"


def clean_filename(filename: str | None) -> str:
    name = clean_text(filename or "").replace("\n", " ")
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255]


def _check_content_type(extension: str, content_type: str | None) -> None:
    base = (content_type or "").split(";", 1)[0].strip().lower()
    allowed = {MIME_TYPES[extension]} | GENERIC_TYPES | ALSO_ACCEPTED.get(extension, set())
    if base not in allowed:
        raise RetrievalError(
            415,
            f"A {extension} file cannot be sent as {base}.",
            "unsupported_media_type",
            "file",
        )


def _validate_pdf(data: bytes) -> int:
    try:
        with pdfium_lock:
            info = engine.inspect_pdf(
                data,
                max_pages=conf.max_pages(),  # one page limit for every format
                max_page_pixels=settings.OCR_MAX_PAGE_PIXELS,
                dpi=settings.OCR_DPI,
                check_text_layer=False,
            )
    except engine.PdfError as exc:
        raise RetrievalError(
            PDF_ERROR_STATUS.get(exc.code, 400), exc.message, exc.code, "file"
        ) from None
    return info.page_count


def ingest_file(
    user,
    collection_id: str,
    filename: str,
    content_type: str | None,
    data: bytes,
    *,
    charge: PdfCharge | None = None,
) -> Document:
    """Validate and read an uploaded file, store it and queue its indexing. A PDF's OCR
    pages are held from ``charge``'s wallet first (402 before anything is queued)."""
    collection = get_collection(user, collection_id)
    filename = clean_filename(filename)
    if not data:
        raise RetrievalError(400, "The file is missing or empty.", "empty_file", "file")
    extension = _extension(filename)
    if extension not in MIME_TYPES:
        raise RetrievalError(
            400,
            "Unsupported file type; send .pdf, .docx, .pptx, .txt or .md.",
            "unsupported_file_type",
            "file",
        )
    _check_content_type(extension, content_type)
    pages, page_count = read_upload(extension, data)
    title = _title_from(pages, filename)
    with transaction.atomic():  # a refused hold queues nothing; a failed save holds nothing
        billing = {}
        if extension == ".pdf":
            if charge is None:  # a bug: every PDF is read by OCR, which someone pays for
                raise ValueError("a PDF is ingested only with a PdfCharge from its admission")
            check_engine_available()
            price, _ = hold_pdf_pages(charge, page_count)
            billing = {
                "billing_request_id": charge.request_id,
                "page_price_usd": price,
                "api_key_id": charge.api_key_id,
            }
        return _create_document(
            collection,
            filename,
            title,
            MIME_TYPES[extension],
            data,
            extension,
            pages,
            page_count,
            **billing,
        )


def read_upload(extension: str, data: bytes) -> tuple[list[Page] | None, int]:
    """An upload's pages (``None`` for a PDF, read later by OCR) and page count, or the
    refusal: 413 over the size or page limit, 400 when it cannot be read or has no text."""
    if len(data) > conf.max_upload_bytes():
        raise RetrievalError(
            413,
            f"The file is {len(data) / 2**20:.1f} MB; the limit is "
            f"{conf.max_upload_bytes() // 2**20} MB.",
            "request_too_large",
            "file",
        )
    if extension == ".pdf":
        pages: list[Page] | None = None
        page_count = _validate_pdf(data)
    else:
        try:
            pages = extract(extension, data, conf.limits())
        except ExtractionError as exc:
            raise RetrievalError(exc.status, exc.message, exc.code, "file") from None
        if not any(pages):
            raise RetrievalError(400, "The file contains no text.", "empty_file", "file")
        page_count = len(pages)
    if page_count > conf.max_pages():
        raise RetrievalError(
            413,
            f"The document has {page_count} pages; the limit is {conf.max_pages()}.",
            "too_many_pages",
            "file",
        )
    return pages, page_count


def ingest_pages(
    user,
    collection_id: str,
    title: str | None,
    filename: str | None,
    pages: list,
    *,
    api_key_id: int | None = None,
) -> Document:
    """JSON ingest: pre-extracted pages (each a string) become the document's pages.
    ``api_key_id``: the key the document's embedding (dense retrieval) is metered to."""
    collection = get_collection(user, collection_id)
    if not isinstance(pages, list) or not all(isinstance(p, str) for p in pages):
        raise RetrievalError(422, "pages must be a list of strings.", "invalid_pages", "pages")
    if len(pages) > conf.max_pages():
        raise RetrievalError(
            413,
            f"{len(pages)} pages; the limit is {conf.max_pages()}.",
            "too_many_pages",
            "pages",
        )
    if any(len(p) > conf.max_page_chars() for p in pages):
        raise RetrievalError(
            413,
            f"A page is limited to {conf.max_page_chars()} characters.",
            "page_too_long",
            "pages",
        )
    if sum(len(p) for p in pages) > conf.max_document_chars():
        too_long = document_too_long(conf.limits())
        raise RetrievalError(413, too_long.message, too_long.code, "pages")
    extracted = _pages_from_strings(pages)
    if not any(extracted):
        raise RetrievalError(400, "pages contain no text.", "empty_document", "pages")
    title = clean_text(title or "").replace("\n", " ")[:500]
    filename = clean_filename(filename) or (title[:200] + ".json" if title else "pages.json")
    payload = orjson.dumps({"title": title, "filename": filename, "pages": pages_text(extracted)})
    title = title or posixpath.splitext(filename)[0][:500]  # passages need some title
    return _create_document(
        collection,
        filename,
        title,
        "application/json",
        payload,
        ".json",
        extracted,
        len(pages),
        api_key_id=api_key_id,
    )


def pages_text(pages: list[Page]) -> list[str]:
    return [page_text(page) for page in pages]


def _title_from(pages: list[Page] | None, filename: str) -> str:
    for page in pages or []:
        for kind, text in page:
            if kind == "h":
                return text[:500]
    return posixpath.splitext(filename)[0][:500]


def _create_document(
    collection: Collection,
    filename: str,
    title: str,
    mime_type: str,
    data: bytes,
    extension: str,
    pages: list[Page] | None,
    page_count: int,
    **billing,
) -> Document:
    from retrieval import tasks

    document = Document(
        collection=collection,
        filename=filename or f"document{extension}",
        title=title,
        mime_type=mime_type,
        pages=page_count,
        size_bytes=len(data),
        queued_at=timezone.now(),
        **billing,
    )
    name = f"retrieval/{collection.collection_id}/{document.doc_id}/original{extension}"
    document.stored_file = default_storage.save(name, ContentFile(data))
    try:
        with transaction.atomic():
            document.save()
            if pages is not None:
                save_pages(document, pages)
            tasks.index_document.delay_on_commit(document.pk)
    except BaseException:
        _delete_files([document.stored_file])
        raise
    return document


def save_pages(document: Document, pages: list[Page], *, first: int = 1) -> None:
    PageRow.objects.bulk_create(
        [
            PageRow(document=document, number=n, text=page_text(page), blocks=page)
            for n, page in enumerate(pages, start=first)
        ],
        batch_size=500,
    )


def ingest_answer(document: Document) -> dict:
    return {
        "id": document.doc_id,
        "status": "queued",
        "pages": document.pages,
        "collection": document.collection.collection_id,
    }


# --- Documents --------------------------------------------------------------------------
def _public_status(status: str) -> str:
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
        "status": _public_status(document.status),
        "error": document.error or None,
    }


def stored_file_url(document: Document) -> str | None:
    """A presigned, expiring link when storage is a bucket. With local files the API layer
    passes its own signed-link builder to ``list_documents``."""
    if document.stored_file and uses_object_storage():
        return default_storage.url(document.stored_file)
    return None


def list_documents(user, collection_id: str, *, file_url=stored_file_url) -> dict:
    collection = get_collection(user, collection_id)
    documents = collection.documents.order_by("-created_at", "-id")
    dense_on = dense.enabled()
    model = dense.configured_model()
    return {
        "collection_id": collection.collection_id,
        "dense_retrieval": dense_on,
        "documents": [
            {
                "doc_id": d.doc_id,
                "filename": d.filename,
                "title": d.title,
                "status": _public_status(d.status),
                "mime_type": d.mime_type,
                "pages": d.pages,
                # Its passages carry vectors of the configured model (else: lexical only).
                "dense_retrieval": dense_on
                and bool(d.embedding_model)
                and d.embedding_model == model,
                "file_url": file_url(d),
                "created_at": _timestamp(d.created_at),
            }
            for d in documents
        ],
    }


def delete_document(user, collection_id: str, doc_id: str) -> None:
    """Remove the document, its pages, passages, postings and stored file; the hold of a
    PDF not charged yet is released at once."""
    document = get_document(user, collection_id, doc_id)
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
        transaction.on_commit(lambda: _delete_files([name] if name else []))


def reindex_document(user, collection_id: str, doc_id: str) -> Document:
    """Index the stored pages again (replacing the document's entries) in the background."""
    from retrieval import tasks

    document = get_document(user, collection_id, doc_id)
    with transaction.atomic():
        Document.objects.filter(pk=document.pk).update(
            status=Document.Status.QUEUED, error="", queued_at=timezone.now(), requeues=0
        )
        tasks.index_document.delay_on_commit(document.pk)
    document.status = Document.Status.QUEUED
    return document


def collection_stats(collection: Collection) -> dict:
    counts = collection.documents.aggregate(
        documents=Count("id"), ready=Count("id", filter=Q(status=Document.Status.READY))
    )
    return {
        **collection_info(collection),
        **counts,
        "passages": collection.chunk_count,
    }


__all__ = [
    "EXTRACTORS",
    "PdfCharge",
    "RetrievalError",
    "collection_info",
    "create_collection",
    "delete_collection",
    "delete_document",
    "document_status",
    "ingest_answer",
    "ingest_file",
    "ingest_pages",
    "list_collections",
    "list_documents",
    "reindex_document",
    "rename_collection",
]
