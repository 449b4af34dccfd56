"""The download behind a document's ``file_url`` when files live in local storage: a
signed link that expires after an hour (object storage presigns its own)."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.core.signing import BadSignature, TimestampSigner
from django.http import FileResponse, Http404, HttpRequest

from retrieval.api import FILE_LINK_SALT
from retrieval.models import Document

LINK_SECONDS = 3600


def signed_file(request: HttpRequest, signed: str) -> FileResponse:
    try:
        doc_id = TimestampSigner(salt=FILE_LINK_SALT).unsign(signed, max_age=LINK_SECONDS)
    except BadSignature:
        raise Http404("This link is invalid or has expired.") from None
    document = Document.objects.filter(doc_id=doc_id).exclude(stored_file="").first()
    if document is None or not default_storage.exists(document.stored_file):
        raise Http404("This document is gone.")
    return FileResponse(
        default_storage.open(document.stored_file, "rb"),
        as_attachment=True,
        filename=document.filename,
        content_type=document.mime_type,
    )
