"""A caller's files (``/v1/files``): upload, list, find, read, delete.

An upload is checked by retrieval's one check (``retrieval.ingest.check_upload``: type,
size, page limits, bombs, hostile Office/PDF files) before its bytes are stored, so a
file that is accepted here can be attached to any vector store. A file made by an
alRetrieval ingest has no bytes of its own (they are its document's): it is read from
its document and goes with its last document. Deleting a file detaches it everywhere:
each document made from it goes (passages, postings, stored copy), then its bytes.
"""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from retrieval import openai_shapes
from retrieval.attributes import check_plain_text
from retrieval.collections import delete_files
from retrieval.documents import delete_document_row
from retrieval.errors import RetrievalError
from retrieval.ingest import CheckedUpload, check_upload
from retrieval.models import Document, File
from retrieval.text import clean_text

PURPOSES = {choice.value for choice in File.Purpose}


def check_purpose(purpose: str | None) -> str:
    if purpose not in PURPOSES:
        raise RetrievalError(
            400,
            "Invalid 'purpose': Portico keeps files for retrieval: 'assistants' or 'user_data'.",
            "invalid_parameter",
            "purpose",
        )
    return purpose


def create_file(
    user, filename: str, content_type: str | None, data: bytes, purpose: str | None
) -> File:
    purpose = check_purpose(purpose)
    check_plain_text(filename or "", "file")  # a name that displays as another: refused
    upload = check_upload(filename, content_type, data)
    file = File(
        owner=user,
        filename=upload.filename,
        mime_type=upload.mime_type,
        bytes=len(data),
        purpose=purpose,
    )
    name = f"retrieval/files/{file.file_id}/original{upload.extension}"
    file.stored_file = default_storage.save(name, ContentFile(data))
    try:
        file.save()
    except BaseException:
        delete_files([file.stored_file])
        raise
    return file


def get_file(user, file_id: str, param: str = "file_id") -> File:
    file = File.objects.filter(file_id=clean_text(str(file_id))[:40], owner=user).first()
    if file is None:
        raise RetrievalError(404, f"No such file: {str(file_id)[:60]!r}.", "file_not_found", param)
    return file


def list_files(
    user, *, after: str | None, limit: int | None, order: str | None, purpose: str | None
) -> dict:
    rows = File.objects.filter(owner=user)
    if purpose:
        rows = rows.filter(purpose=check_purpose(purpose))
    return openai_shapes.page(
        rows,
        "file_id",
        after=after,
        limit=limit,
        order=order,
        to_object=openai_shapes.file_object,
    )


def stored_name(file: File) -> str:
    """Where the file's bytes are: its own, else its document's (an alRetrieval ingest)."""
    if file.stored_file:
        return file.stored_file
    name = (
        file.documents.exclude(stored_file="")
        .order_by("created_at", "id")
        .values_list("stored_file", flat=True)
        .first()
    )
    if not name:
        raise RetrievalError(404, "The file's content is gone.", "file_not_found", "file_id")
    return name


def file_content(user, file_id: str) -> tuple[File, bytes]:
    file = get_file(user, file_id)
    with default_storage.open(stored_name(file), "rb") as stored:
        return file, stored.read()


def checked_content(file: File) -> tuple[CheckedUpload, bytes]:
    """The file's bytes, checked again as an ingest checks them (the limits may have
    changed since the upload), to make a document of them."""
    with default_storage.open(stored_name(file), "rb") as stored:
        data = stored.read()
    return check_upload(file.filename, file.mime_type, data), data


def delete_file(user, file_id: str) -> None:
    file = get_file(user, file_id)
    for document in Document.objects.filter(file=file).select_related("collection"):
        delete_document_row(document)
    name = file.stored_file
    with transaction.atomic():
        File.objects.filter(pk=file.pk).delete()
        transaction.on_commit(lambda: delete_files([name] if name else []))
