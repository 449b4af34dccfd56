"""An API key's secret: how it is made (``sk-`` and 43 random characters; ``sk-admin-`` for an admin key), the prefix
shown to its owner, and the keyed hash that is stored and looked up."""

from __future__ import annotations

import secrets

from django.conf import settings

from ground.crypto import keyed_hash

KEY_PREFIX = "sk-"
ADMIN_KEY_PREFIX = "sk-admin-"  # an admin key reads as one (it still matches KEY_PREFIX)


VISIBLE_PREFIX_LENGTH = 11  # "sk-" + 8 characters


def hash_key(raw: str) -> str:
    """The stored (and looked-up) form of a secret: HMAC-SHA-256 with the server secret."""
    return keyed_hash(settings.API_KEY_SECRET, raw)


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_admin_secret() -> str:
    return ADMIN_KEY_PREFIX + secrets.token_urlsafe(32)
