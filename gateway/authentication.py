"""Who calls: the API key from ``Authorization: Bearer``, checked for its scope, expiry,
owner and address, and a 429 for an address that keeps sending unknown keys."""

from __future__ import annotations

import re
import time

from django.conf import settings
from django.http import HttpRequest

from accounts.key_secrets import KEY_PREFIX, hash_key
from accounts.org_keys import ADMIN_SCOPE
from accounts.snapshots import KeyContext, get_key_context, is_known_valid
from gateway.call import Call
from gateway.ratelimit import MINUTE, Rule, get_limiter
from ground.errors import ApiError
from ground.net import client_ip


def bearer_token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticate(request: HttpRequest, scope: str, call: Call) -> KeyContext:
    """The key's context, or a clear 401/403. ``call.ctx`` is set as soon as the key is
    known to be valid, so a 403 still carries the key's rate-limit headers.

    Unknown keys cost little: a malformed one never reaches a cache or the database, an
    unknown digest is remembered (``accounts.snapshots.UNKNOWN_TTL``), and an address
    that keeps sending unknown keys gets 429 for a while (``auth_failures``)."""
    token = bearer_token(request)
    if token is None:
        raise ApiError(
            401, "Missing API key. Send it as 'Authorization: Bearer sk-…'.", code="missing_api_key"
        )
    address = client_ip(request) or ""
    if not KEY_PATTERN.fullmatch(token):
        await auth_failures.check(address)
        await auth_failures.failed(address)
        raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
    hashed = hash_key(token)
    if not is_known_valid(hashed):  # a blocked address still uses keys it has used just now
        await auth_failures.check(address)
    ctx = await get_key_context(hashed)
    if ctx is None:
        await auth_failures.failed(address)
        raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
    if ctx.revoked:
        raise ApiError(401, "This API key has been revoked.", code="revoked_api_key")
    if ctx.expires_at is not None and ctx.expires_at <= time.time():
        raise ApiError(401, "This API key has expired.", code="expired_api_key")
    if ctx.place is not None and ctx.place.project_archived:
        raise ApiError(401, "This API key's project has been archived.", code="project_archived")
    if not ctx.owner_active:
        raise ApiError(
            401, "The account that owns this API key is disabled.", code="account_disabled"
        )
    call.ctx = ctx
    if not ctx.allows_ip(address):
        raise ApiError(
            403, f"Requests from {address} are not allowed for this API key.", code="ip_not_allowed"
        )
    if scope not in ctx.scopes:
        raise scope_refusal(ctx, scope)
    request.key_context = ctx
    return ctx


def scope_refusal(ctx: KeyContext, scope: str) -> ApiError:
    """403 for a key without ``scope``; as OpenAI words it when an admin key calls a model
    or an ordinary key calls the Admin API (``accounts.org_keys.ADMIN_SCOPE``)."""
    if scope == ADMIN_SCOPE:
        return ApiError(
            403,
            "You have insufficient permissions for this operation. Missing scopes: "
            "api.management.read. The Admin API takes an admin key (sk-admin-…), made by an "
            "owner of the organization.",
            code="missing_scope",
        )
    if ADMIN_SCOPE in ctx.scopes:
        return ApiError(
            403,
            "You have insufficient permissions for this operation. Missing scopes: "
            "model.request. An admin key only manages the organization (/v1/organization/…); "
            "use a project API key for this.",
            code="missing_scope",
        )
    return ApiError(403, f"This API key lacks the '{scope}' scope.", code="missing_scope")


KEY_PATTERN = re.compile(re.escape(KEY_PREFIX) + r"[A-Za-z0-9_-]{20,100}")


class AuthFailures:
    """Failed authentications per client address; past the limit, 429 for the window.

    The shared counter (Redis, or in-process) is only touched by failures, and a refusal
    is remembered locally, so requests with valid keys pay nothing for this."""

    def __init__(self) -> None:
        self.blocked_until: dict[str, float] = {}

    def rule(self, address: str) -> Rule:
        return Rule(f"authfail:{address}", "rpm", settings.AUTH_FAILURES_PER_MINUTE, MINUTE)

    async def check(self, address: str) -> None:
        until = self.blocked_until.get(address)
        if until is None:
            return
        wait = until - time.time()
        if wait <= 0:
            self.blocked_until.pop(address, None)
            return
        raise ApiError(
            429,
            "Too many requests with invalid API keys from your address. Retry later.",
            code="too_many_failed_authentications",
            headers={"retry-after": str(max(1, int(wait + 0.999)))},
        )

    async def failed(self, address: str) -> None:
        decision = await get_limiter().admit([self.rule(address)], 0)
        if not decision.allowed:
            if len(self.blocked_until) > 100_000:
                self.blocked_until.clear()
            self.blocked_until[address] = time.time() + decision.retry_after
            await self.check(address)


auth_failures = AuthFailures()
