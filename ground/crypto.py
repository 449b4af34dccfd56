"""Secrets at rest: provider API keys are Fernet-encrypted under a key derived from
``API_KEY_SECRET``; API keys are stored only as HMAC-SHA-256 digests."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


def derive_key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


def keyed_hash(secret: str, value: str) -> str:
    """Hex HMAC-SHA-256 of ``value`` under ``secret`` (for API-key lookups)."""
    return hmac.new(derive_key(secret, "api-key-hash"), value.encode(), hashlib.sha256).hexdigest()


def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive_key(secret, "provider-secret")))


def encrypt(secret: str, plaintext: str) -> str:
    return _fernet(secret).encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(secret: str, token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(secret).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("cannot decrypt: the server secret changed since it was stored") from None
