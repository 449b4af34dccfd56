"""Where OCR files live: ``ocr/<token>/original.pdf`` and ``ocr/<token>/pages/<n>/*.png``
in Django's default storage (local files, or an S3-compatible bucket).

Links to page images: with object storage, the bucket's own presigned, expiring URLs;
with local files, ``/ocr/files/<signed>`` served by Portico, signed with
:class:`~django.core.signing.TimestampSigner` and valid for ``OCR_FILE_URL_SECONDS``.
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections import OrderedDict

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

FILE_SALT = "ocr.files"
_CACHE_SIZE = 2
_cache: OrderedDict[str, bytes] = OrderedDict()


def job_folder(token: str) -> str:
    return f"ocr/{token}"


def original_name(token: str) -> str:
    return f"{job_folder(token)}/original.pdf"


def searchable_name(token: str) -> str:
    return f"{job_folder(token)}/searchable.pdf"


def page_file_name(token: str, page_num: int, kind: str) -> str:
    return f"{job_folder(token)}/pages/{page_num}/{kind}.png"


def uses_object_storage() -> bool:
    """True when the default storage hands out its own (presigned) URLs, as S3 does."""
    from storages.backends.s3 import S3Storage

    return isinstance(default_storage, S3Storage)


def save_bytes(name: str, data: bytes) -> str:
    """Store ``data`` at exactly ``name`` (a redelivered task overwrites its own files)."""
    with contextlib.suppress(FileNotFoundError):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(data))


def read_bytes(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def exists(name: str) -> bool:
    return bool(name) and default_storage.exists(name)


def pdf_source(name: str) -> str | bytes:
    """What the engine reads: a local path when there is one, else the bytes.

    Every page of a job reads the same original, so a worker process keeps the last
    few it downloaded from object storage.
    """
    try:
        return default_storage.path(name)
    except NotImplementedError:
        pass
    if name in _cache:
        _cache.move_to_end(name)
        return _cache[name]
    data = read_bytes(name)
    _cache[name] = data
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return data


def delete_tree(folder: str) -> int:
    """Delete every file under ``folder``; returns how many."""
    try:
        dirs, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return 0
    deleted = 0
    for name in files:
        default_storage.delete(f"{folder}/{name}")
        deleted += 1
    for sub in dirs:
        deleted += delete_tree(f"{folder}/{sub}")
    if not uses_object_storage():  # leave no empty folders behind
        with contextlib.suppress(OSError):
            os.rmdir(default_storage.path(folder))
    _cache.pop(f"{folder}/original.pdf", None)
    return deleted


# --- Links ---------------------------------------------------------------------------
def sign_name(name: str) -> str:
    return signing.TimestampSigner(salt=FILE_SALT).sign_object(name)


def unsign_name(signed: str) -> str:
    """The storage name in a signed link; ``SignatureExpired`` / ``BadSignature`` otherwise."""
    return signing.TimestampSigner(salt=FILE_SALT).unsign_object(
        signed, max_age=settings.OCR_FILE_URL_SECONDS
    )


def file_url(name: str, *, absolute_base: str = "") -> str:
    """An expiring link to a stored file (presigned, or signed and served by Portico)."""
    if uses_object_storage():
        return default_storage.url(name)
    return absolute_base + reverse("ocr-file", args=[sign_name(name)])


def data_uri(name: str) -> str:
    return "data:image/png;base64," + base64.b64encode(read_bytes(name)).decode("ascii")
