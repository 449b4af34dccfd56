"""Ingest: an uploaded file (``ingest_file``) or pre-extracted pages (``ingest_pages``)
become a stored document whose indexing is queued.

Ingest validates and extracts *before* writing anything: a hostile or broken file is a
400 with nothing stored. A PDF is validated with ``ocr.reading.inspect_pdf`` here and
its pages are read by OCR's page tasks (``retrieval.pdfreading``), then indexed; they
are charged like ``/v1/ocr``: held here (``retrieval.charges``), the pages read charged
when the reading ends or the document is deleted first.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import orjson
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from ocr import engine, reading
from ocr.availability import check_engine_available
from ocr.uploads import PDF_ERROR_STATUS  # the same refusal statuses as /v1/ocr
from retrieval import conf
from retrieval.charges import PdfCharge, hold_pdf_pages
from retrieval.collections import delete_files, get_collection
from retrieval.errors import RetrievalError
from retrieval.extract import ExtractionError, Page, extract, page_text
from retrieval.extract import pages_from_strings as _pages_from_strings
from retrieval.filetypes import MIME_TYPES, check_content_type, clean_filename, extension_of
from retrieval.models import Collection, Document, File
from retrieval.models import Page as PageRow
from retrieval.office import document_too_long
from retrieval.pdfreading import start_pdf_reading
from retrieval.queueing import queue_indexing
from retrieval.text import clean_text


def validate_pdf(data: bytes) -> int:
    try:
        # One page limit for every format; the same pdfium lock as OCR's own uploads.
        info = reading.inspect_pdf(data, max_pages=conf.max_pages())
    except engine.PdfError as exc:
        raise RetrievalError(
            PDF_ERROR_STATUS.get(exc.code, 400), exc.message, exc.code, "file"
        ) from None
    return info.page_count


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that passed retrieval's checks: its pages (``None`` for a PDF, read later
    by OCR) and page count."""

    filename: str
    extension: str
    pages: list[Page] | None
    page_count: int

    @property
    def mime_type(self) -> str:
        return MIME_TYPES[self.extension]


def check_upload(filename: str, content_type: str | None, data: bytes) -> CheckedUpload:
    """The one check of an uploaded file, for an ingest and for ``/v1/files`` alike: the
    type (extension and Content-Type), the size and page limits, bombs and hostile
    Office/PDF files — a refusal before anything is stored."""
    filename = clean_filename(filename)
    if not data:
        raise RetrievalError(400, "The file is missing or empty.", "empty_file", "file")
    extension = extension_of(filename)
    if extension not in MIME_TYPES:
        raise RetrievalError(
            400,
            "Unsupported file type; send .pdf, .docx, .pptx, .txt or .md.",
            "unsupported_file_type",
            "file",
        )
    check_content_type(extension, content_type)
    pages, page_count = read_upload(extension, data)
    return CheckedUpload(filename, extension, pages, page_count)


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
    return ingest_checked(collection, check_upload(filename, content_type, data), data, charge)


def ingest_checked(
    collection: Collection,
    upload: CheckedUpload,
    data: bytes,
    charge: PdfCharge | None,
    **extra,
) -> Document:
    """Store a checked upload as the collection's document and queue its indexing (the
    PDF's pages held first). ``extra``: the document's ``file``, ``attributes``,
    ``chunking`` and ``batch`` when it comes through the vector-store face."""
    title = title_from(upload.pages, upload.filename)
    with transaction.atomic():  # a refused hold queues nothing; a failed save holds nothing
        billing = {}
        if upload.extension == ".pdf":
            if charge is None:  # a bug: every PDF is read by OCR, which someone pays for
                raise ValueError("a PDF is ingested only with a PdfCharge from its admission")
            check_engine_available()
            price = hold_pdf_pages(charge, upload.page_count)
            billing = {
                "billing_request_id": charge.request_id,
                "page_price_usd": price,
                "api_key_id": charge.api_key_id,
            }
        return create_document(
            collection,
            upload.filename,
            title,
            upload.mime_type,
            data,
            upload.extension,
            upload.pages,
            upload.page_count,
            **billing,
            **extra,
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
        page_count = validate_pdf(data)
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
    return create_document(
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


def title_from(pages: list[Page] | None, filename: str) -> str:
    for page in pages or []:
        for kind, text in page:
            if kind == "h":
                return text[:500]
    return posixpath.splitext(filename)[0][:500]


def create_document(
    collection: Collection,
    filename: str,
    title: str,
    mime_type: str,
    data: bytes,
    extension: str,
    pages: list[Page] | None,
    page_count: int,
    *,
    file: File | None = None,
    **fields,
) -> Document:
    """The document row, its stored bytes (its own copy) and pages; its indexing queued.
    Without ``file`` (an alRetrieval ingest) it gets a file with no bytes of its own,
    listed by ``/v1/files`` for as long as the document lives."""
    document = Document(
        collection=collection,
        filename=filename or f"document{extension}",
        title=title,
        mime_type=mime_type,
        pages=page_count,
        size_bytes=len(data),
        queued_at=timezone.now(),
        **fields,
    )
    name = f"retrieval/{collection.collection_id}/{document.doc_id}/original{extension}"
    document.stored_file = default_storage.save(name, ContentFile(data))
    try:
        with transaction.atomic():
            if file is None:
                file = File.objects.create(
                    owner_id=collection.owner_id,
                    filename=document.filename,
                    mime_type=mime_type,
                    bytes=len(data),
                )
            document.file = file
            document.save()
            if pages is None:  # a PDF: OCR's page tasks read it, then it is indexed
                start_pdf_reading(document, collection.owner_id)
            else:
                save_pages(document, pages)
                queue_indexing(document.pk)
    except BaseException:
        delete_files([document.stored_file])
        raise
    return document


def save_pages(document: Document, pages: list[Page]) -> None:
    PageRow.objects.bulk_create(
        [
            PageRow(document=document, number=n, text=page_text(page), blocks=page)
            for n, page in enumerate(pages, start=1)
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
