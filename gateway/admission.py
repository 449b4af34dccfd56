"""The one way a ``/v1`` request is admitted, for every endpoint of every app.

``@v1(scope)`` wraps a view ``view(request, call, ...)``: it gives the request an id,
authenticates the key with the scope, takes the rate-limit step (or leaves it to the
view, which knows the token count, with ``admit_now=False``), and on the way out puts
the same headers on every answer — refusals included: ``x-request-id`` always, the
``x-ratelimit-*`` headers once the key is known, ``Retry-After`` on every 429. A refusal
after a model was named still yields its usage record.

Per request: one key-snapshot cache hit, one atomic rate-limit step and, for priced
models, one atomic funds reservation (``reserve``) — in memory when the process holds a
funds lease of the wallet (``billing.leases``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import re
import time
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

from asgiref.sync import async_to_sync
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from accounts.key_secrets import KEY_PREFIX, hash_key
from accounts.snapshots import KeyContext, get_key_context, is_known_valid, session_context
from billing import leases
from billing.pricing import price
from catalog.snapshots import DeploymentEntry, ModelEntry, get_catalog
from gateway.metrics import observe_answer, observe_refusal
from gateway.ratelimit import MINUTE, Rule, get_limiter, rules_for
from ground.errors import ApiError
from ground.ids import new_request_id
from ground.net import client_ip
from usage.events import UsageEvent, emit

log = logging.getLogger(__name__)
_background: set[asyncio.Task] = set()


@dataclass
class Call:
    """One ``/v1`` request on its way through admission, routing and metering."""

    ctx: KeyContext | None = None
    endpoint: str = "none"
    source: str = "api_key"
    request_id: str = field(default_factory=new_request_id)
    started: float = field(default_factory=time.perf_counter)
    started_wall: float = field(default_factory=time.time)
    headers: dict[str, str] = field(default_factory=dict)
    requested_model: str = ""
    model: ModelEntry | None = None
    stream: bool = False
    include_usage: bool = False
    est_prompt: int = 0
    max_output: int = 0
    rules: list = field(default_factory=list)
    admitted_tokens: int = 0
    deployment: DeploymentEntry | None = None
    fallbacks: int = 0
    upstream_started: float = 0.0
    upstream_ms: float = 0.0
    hold: object | None = None
    rate_checked: bool = False
    # The models admission let this call use (``admit_model``); a use case that spends
    # money on a model checks it is here (``require_admitted``).
    admitted_models: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.headers["x-request-id"] = self.request_id

    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)

    def upstream_so_far_ms(self, now: float) -> float:
        """The upstream's share: its whole answer once known, else the time since the call."""
        if self.upstream_ms:
            return self.upstream_ms
        return (now - self.upstream_started) * 1000 if self.upstream_started else 0.0

    def server_timing(self) -> str:
        """``Server-Timing``: Portico's own time and the upstream's (browsers show both)."""
        now = time.perf_counter()
        upstream = self.upstream_so_far_ms(now)
        gateway = max((now - self.started) * 1000 - upstream, 0.0)
        if not self.upstream_started:
            return f"gateway;dur={gateway:.2f}"
        return f"gateway;dur={gateway:.2f}, upstream;dur={upstream:.2f}"

    def overhead_us(self) -> int | None:
        """Portico's own time for a request that reached an upstream, in microseconds:
        before the upstream call, and after its answer for answers read whole."""
        if not self.upstream_started:
            return None
        before = (self.upstream_started - self.started) * 1_000_000
        after = (
            (time.perf_counter() - self.upstream_started) * 1_000_000 - self.upstream_ms * 1000
            if self.upstream_ms
            else 0.0
        )
        return max(int(before + after), 0)


# --- Authentication ------------------------------------------------------------------------
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
        raise ApiError(403, f"This API key lacks the '{scope}' scope.", code="missing_scope")
    request.key_context = ctx
    return ctx


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


# --- Models: who may use which ---------------------------------------------------------------
def check_model_access(ctx: KeyContext, public_id: str, *, param: str | None = "model") -> None:
    """403 naming whose allowlist keeps ``public_id`` out: the account's, then the key's."""
    whose = ctx.refuses_model(public_id)
    if whose is None:
        return
    if whose == "account":
        message = (
            f"Your account may not use the model '{public_id}'. "
            "An administrator chooses the models your account may use."
        )
    else:
        message = (
            f"This API key may not use the model '{public_id}'. "
            "Its models can be changed on the Keys page."
        )
    raise ApiError(403, message, code="model_not_allowed", param=param)


async def admit_model(
    call: Call, public_id: str, *, tokens: int = 0, param: str | None = None
) -> ModelEntry | None:
    """Admit ``call`` to use ``public_id``: the account's and then the key's allowlist, then
    (once per call) the one rate-limit step, where the account's and the key's limits
    count together. Answers the model's catalog entry (``None`` when the catalog does not
    list it: an allowlist still applies to it by name)."""
    if not call.requested_model:
        call.requested_model = public_id
    check_model_access(call.ctx, public_id, param=param)
    if not call.rate_checked:
        await admit(call, tokens)
    call.admitted_models.add(public_id)
    return (await get_catalog()).models.get(public_id)


def admit_model_sync(call: Call, public_id: str) -> None:
    """``admit_model`` from a view's worker thread (a model the request turns out to use
    once its body is read: a PDF ingested for retrieval is read by OCR)."""
    async_to_sync(admit_model)(call, public_id)


def require_admitted(call: Call, public_id: str) -> None:
    """For use cases that spend money on a model: admission must have let this call use
    it. A failure here is a bug in Portico (a path that skipped admission), never the
    caller's mistake."""
    if public_id not in call.admitted_models:
        raise RuntimeError(f"{public_id!r} used by request {call.request_id} without admission")


def admit_page(request: HttpRequest, *models: str, source: str, endpoint: str = "none") -> Call:
    """A portal action that spends money or uses a model, admitted exactly like ``/v1``:
    the signed-in user's allowlist and limits (its own per-page counter instead of a key's)
    for each of ``models``. Synchronous views call this; a refusal is an ``ApiError`` the
    page shows."""
    call = Call(endpoint=endpoint, source=source)
    call.ctx = session_context(request.user, "portal")

    async def admitted() -> None:
        try:
            for model in models:
                await admit_model(call, model)
        except ApiError as error:
            await refuse(call, error)
            raise

    async_to_sync(admitted)()
    return call


# --- Rate limits and funds -------------------------------------------------------------------
async def admit(call: Call, tokens: int) -> None:
    """The one atomic rate-limit step; 429 with ``Retry-After`` when a limit is reached."""
    call.rules = rules_for(call.ctx)
    decision = await get_limiter().admit(call.rules, tokens)
    call.headers.update(decision.headers)
    call.rate_checked = True
    if not decision.allowed:
        raise ApiError(429, decision.message, code=decision.code)
    call.admitted_tokens = tokens


async def reserve(call: Call, amount: Decimal) -> None:
    """Hold ``amount`` (the worst-case cost) before any upstream call; 402 when not covered."""
    if amount <= 0:
        return
    ctx = call.ctx
    call.hold = await leases.reserve(
        ctx.owner_id, call.request_id, amount, api_key_id=ctx.key_id or None, budgets=ctx.budgets
    )


async def ensure_rate_headers(call: Call) -> None:
    """Errors raised before the rate-limit step still carry the key's rate-limit headers."""
    if call.ctx is not None and "x-ratelimit-limit" not in call.headers:
        call.rules = call.rules or rules_for(call.ctx)
        call.headers.update((await get_limiter().peek(call.rules)).headers)


# --- Usage of requests that end early ----------------------------------------------------------
def usage_event(
    call: Call,
    *,
    status: str,
    http_status: int,
    prompt: int = 0,
    completion: int = 0,
    cached: int = 0,
    reported: bool = True,
    ttft_ms: int | None = None,
    error_code: str = "",
    charge: bool | None = None,
) -> UsageEvent:
    """The request's usage event. Errors are free unless ``charge`` says the tokens were
    produced (a stream that broke after relaying them)."""
    charged = status != "error" if charge is None else charge
    cost = price(call.model, prompt, completion, cached) if call.model and charged else Decimal(0)
    deployment = call.deployment
    return UsageEvent(
        request_id=call.request_id,
        user_id=call.ctx.owner_id,
        api_key_id=call.ctx.key_id or None,
        model=call.model.public_id if call.model else call.requested_model,
        provider=deployment.provider.name if deployment else "",
        deployment_id=deployment.id if deployment else None,
        upstream_model=deployment.upstream_model if deployment else "",
        source=call.source,
        endpoint=call.endpoint,
        stream=call.stream,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        tokens_reported=reported,
        estimated_prompt_tokens=call.est_prompt,
        cost_usd=cost,
        status=status,
        http_status=http_status,
        error_code=error_code,
        latency_ms=call.elapsed_ms(),
        ttft_ms=ttft_ms,
        fallbacks=call.fallbacks,
        overhead_us=call.overhead_us(),
        created_at=call.started_wall,
    )


async def record(call: Call, event: UsageEvent) -> None:
    """Make the event durable, then settle the token count the rate limiter guessed."""
    leases.settle_locally(call.hold, event)
    await emit(event)
    observe_answer(call, event.http_status, event.overhead_us, event.ttft_ms)
    used = event.total_tokens
    if call.rules and call.admitted_tokens and used != call.admitted_tokens:
        # The token estimate admitted becomes the real count. With Redis that is a round
        # trip the answer need not wait for: the next request of the key sees it anyway.
        delta = used - call.admitted_tokens
        adjusting = get_limiter().adjust(call.rules, delta, at=call.started_wall)
        if settings.REDIS_URL:
            in_background(adjusting, f"token count of {call.request_id}")
        else:
            await adjusting


def record_in_background(call: Call, event: UsageEvent) -> None:
    """For a request the client abandoned: finish recording even though the view was cancelled."""
    in_background(record(call, event), f"usage of {call.request_id}")


def in_background(work: Awaitable[None], what: str) -> None:
    async def logged() -> None:
        try:
            await work
        except Exception:
            log.exception("could not record the %s", what)

    task = asyncio.ensure_future(logged())
    _background.add(task)
    task.add_done_callback(_background.discard)


async def refuse(call: Call, error: ApiError) -> None:
    """A refusal carries the call's headers and, once a model was named, its usage record."""
    await ensure_rate_headers(call)
    error.headers.update(call.headers)
    error.headers["Server-Timing"] = call.server_timing()
    observe_refusal(call, error)
    if call.ctx is not None and call.requested_model and call.endpoint != "none":
        event = usage_event(
            call, status="error", http_status=error.status, error_code=error.code or ""
        )
        leases.settle_locally(call.hold, event)
        try:
            await emit(event)
        except Exception:  # the refusal must still reach the client
            log.exception("could not record usage for refused request %s", call.request_id)


def record_cancelled(call: Call) -> None:
    """The client went away before the answer started: nothing was relayed, nothing is
    charged, and the hold is released when the event is drained."""
    if call.ctx is not None and call.requested_model:
        record_in_background(
            call,
            usage_event(
                call,
                status="cancelled",
                http_status=499,
                reported=False,
                error_code="client_disconnected",
            ),
        )


def with_headers(response: HttpResponse, call: Call) -> HttpResponse:
    """The call's headers on the answer. Their names and values are Portico's own ASCII
    (ids, counts, durations), so they go straight into the header store: Django's
    per-header charset and newline checks cost more than the rest of this step."""
    call.headers["Server-Timing"] = call.server_timing()
    store = getattr(response.headers, "_store", None)
    if store is None:  # a future Django without the store: the checked way
        for name, value in call.headers.items():
            response[name] = value
    else:
        store.update({name.lower(): (name, str(value)) for name, value in call.headers.items()})
    return response


# --- The decorator every /v1 view wears ------------------------------------------------------
View = Callable[..., Awaitable[HttpResponse]]


@dataclass(frozen=True)
class Admission:
    """How a view is admitted (kept on the view as ``view.admission``)."""

    scope: str
    endpoint: str
    source: str
    admit_now: bool
    model: Callable[[], str] | None


def v1(
    scope: str,
    *,
    endpoint: str = "none",
    source: str = "api_key",
    admit_now: bool = True,
    context: Callable[[HttpRequest], Awaitable[KeyContext]] | None = None,
    model: Callable[[], str] | None = None,
) -> Callable[[View], View]:
    """Admit every request to the wrapped ``view(request, call, ...)`` the same way.

    ``admit_now=False``: the view calls ``admit(call, tokens)`` (or ``admit_model``) itself
    once it knows the token count or the model. ``context``: how to find the caller
    without a key (the playground, the portal's pages). ``model``: the model every
    request of the route uses (the setting is read per request), admitted before the
    view runs: the account's allowlist, the key's, then the rate-limit step.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        async def admitted(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            call = Call(endpoint=endpoint, source=source)
            try:
                if context is not None:
                    call.ctx = await context(request)
                else:
                    await authenticate(request, scope, call)
                if model is not None:
                    await admit_model(call, model())
                elif admit_now:
                    await admit(call, 0)
                response = await view(request, call, *args, **kwargs)
            except ApiError as error:
                await refuse(call, error)
                raise
            except asyncio.CancelledError:
                record_cancelled(call)
                raise
            return with_headers(response, call)

        admitted.__signature__ = signature_without_call(view)
        # What tests/architecture reads to prove every route is admitted.
        admitted.admission = Admission(scope, endpoint, source, admit_now, model)
        return admitted

    return decorate


def signature_without_call(view: View) -> inspect.Signature:
    """What django-ninja should see: the view's parameters minus ``call``, resolved."""
    hints = typing.get_type_hints(view)
    parameters = [
        parameter.replace(annotation=hints.get(name, parameter.annotation))
        for name, parameter in inspect.signature(view).parameters.items()
        if name != "call"
    ]
    return inspect.Signature(parameters, return_annotation=hints.get("return", HttpResponse))
