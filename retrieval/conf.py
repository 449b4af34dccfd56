"""Retrieval settings: ``settings.RETRIEVAL_*`` when set, else the environment.

(They belong in ``portal/settings.py`` with the other knobs; they are read here until the
app's API lands, so this branch adds only one line there.)
"""

from __future__ import annotations

from django.conf import settings

from portal.lib.env import env_int, env_str

# Embedding models that are not real semantic models: dense retrieval stays off with them.
TEST_EMBEDDING_MODELS = frozenset({"portico/test-embedding"})


def _get(name: str, default):
    return getattr(settings, name, default)


def max_upload_bytes() -> int:
    return _get("RETRIEVAL_MAX_UPLOAD_MB", env_int("RETRIEVAL_MAX_UPLOAD_MB", 50)) * 1024 * 1024


def max_pages() -> int:
    return _get("RETRIEVAL_MAX_PAGES", env_int("RETRIEVAL_MAX_PAGES", 2000))


def max_page_chars() -> int:
    return _get("RETRIEVAL_MAX_PAGE_CHARS", env_int("RETRIEVAL_MAX_PAGE_CHARS", 200_000))


def embedding_model() -> str:
    return _get("RETRIEVAL_EMBEDDING_MODEL", env_str("RETRIEVAL_EMBEDDING_MODEL"))


def queue() -> str:
    return _get("RETRIEVAL_QUEUE", env_str("RETRIEVAL_QUEUE"))
