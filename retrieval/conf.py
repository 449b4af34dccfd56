"""Retrieval settings (``RETRIEVAL_*`` in ``portal/settings/documents.py``), read when used so
tests can change them."""

from __future__ import annotations

from django.conf import settings

from retrieval.reading import Limits

# Embedding models that are not real semantic models: dense retrieval stays off with them.
TEST_EMBEDDING_MODELS = frozenset({"portico/test-embedding"})


def max_upload_bytes() -> int:
    return settings.RETRIEVAL_MAX_UPLOAD_MB * 1024 * 1024


def max_pages() -> int:
    return settings.RETRIEVAL_MAX_PAGES


def max_page_chars() -> int:
    return settings.RETRIEVAL_MAX_PAGE_CHARS


def max_document_chars() -> int:
    return settings.RETRIEVAL_MAX_DOCUMENT_CHARS


def limits() -> Limits:
    """The limits every format shares (uploads of every kind and JSON pages)."""
    return Limits(
        max_pages=max_pages(), max_page_chars=max_page_chars(), max_chars=max_document_chars()
    )


def embedding_model() -> str:
    return settings.RETRIEVAL_EMBEDDING_MODEL
