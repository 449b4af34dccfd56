"""``Authorization: Bearer sk-…`` → a ``KeyContext`` (one cache hit), or a clear 401/403."""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest

from gateway.snapshots import KeyContext, get_key_context
from portal.errors import ApiError
from portal.lib.crypto import keyed_hash

KEY_PREFIX = "sk-"


def hash_key(raw: str) -> str:
    return keyed_hash(settings.API_KEY_SECRET, raw)


def bearer_token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def client_ip(request: HttpRequest) -> str | None:
    if settings.SECURE_PROXY_SSL_HEADER:  # behind a trusted proxy: the address it saw
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            # The proxy appends the peer it saw; earlier entries come from the client.
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR")


async def authenticate(request: HttpRequest, scope: str) -> KeyContext:
    token = bearer_token(request)
    if token is None:
        raise ApiError(
            401, "Missing API key. Send it as 'Authorization: Bearer sk-…'.", code="missing_api_key"
        )
    if not token.startswith(KEY_PREFIX) or len(token) < 20:
        raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
    ctx = await get_key_context(hash_key(token))
    if ctx is None:
        raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
    if ctx.revoked:
        raise ApiError(401, "This API key has been revoked.", code="revoked_api_key")
    if ctx.expires_at is not None and ctx.expires_at <= time.time():
        raise ApiError(401, "This API key has expired.", code="expired_api_key")
    if not ctx.owner_active:
        raise ApiError(
            401, "The account that owns this API key is disabled.", code="account_disabled"
        )
    if not ctx.allows_ip(client_ip(request)):
        raise ApiError(
            403,
            f"Requests from {client_ip(request)} are not allowed for this API key.",
            code="ip_not_allowed",
        )
    if scope not in ctx.scopes:
        raise ApiError(403, f"This API key lacks the '{scope}' scope.", code="missing_scope")
    request.key_context = ctx
    return ctx
