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

Who calls: ``gateway.authentication``; the call itself: ``gateway.call``; its usage
event: ``gateway.metering``."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

from asgiref.sync import async_to_sync
from django.http import HttpRequest, HttpResponse

from accounts.snapshots import KeyContext, session_context
from billing import leases
from catalog.snapshots import ModelEntry, get_catalog
from gateway.authentication import authenticate
from gateway.call import Call
from gateway.metering import record_cancelled, usage_event
from gateway.metrics import observe_refusal
from gateway.ratelimit import get_limiter, model_rules, rules_for
from ground.errors import ApiError
from usage.events import emit

log = logging.getLogger(__name__)


# --- Models: who may use which ---------------------------------------------------------------
def check_model_access(ctx: KeyContext, public_id: str, *, param: str | None = "model") -> None:
    """403 naming whose allowlist keeps ``public_id`` out, widest first: the organization's,
    the project's, the account's, the key's."""
    whose = ctx.refuses_model(public_id)
    if whose is None:
        return
    if whose == "organization":
        message = (
            f"Your organization may not use the model '{public_id}'. "
            "An administrator chooses the models your organization may use."
        )
    elif whose == "project":
        message = (
            f"This project may not use the model '{public_id}'. "
            "A project owner chooses the models the project may use."
        )
    elif whose == "account":
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
    """Admit ``call`` to use ``public_id``: the organization's, project's, account's and
    key's allowlists, then (once per call) the one rate-limit step, where the key's, the
    account's, the organization's and the project's limits for the model count together.
    A call already rate-checked (before its model was known) takes one more step for the
    project's limits of ``public_id``, if it has any. Answers the model's catalog entry
    (``None`` when the catalog does not list it: an allowlist still applies to it by name)."""
    if not call.requested_model:
        call.requested_model = public_id
    check_model_access(call.ctx, public_id, param=param)
    if not call.rate_checked:
        await admit(call, tokens)
    elif public_id not in call.admitted_models:
        await admit_model_limits(call, public_id, tokens)
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
    call.ctx = session_context(request.user, "portal")  # the personal default project

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
    call.rules = rules_for(call.ctx, call.requested_model)
    decision = await get_limiter().admit(call.rules, tokens)
    call.headers.update(decision.headers)
    call.rate_checked = True
    if not decision.allowed:
        raise ApiError(429, decision.message, code=decision.code)
    call.admitted_tokens = tokens


async def admit_model_limits(call: Call, public_id: str, tokens: int) -> None:
    """The project's limits for a model named after the call's rate-limit step."""
    rules = model_rules(call.ctx.place, public_id)
    if not rules:
        return
    decision = await get_limiter().admit(rules, tokens)
    if not decision.allowed:
        call.headers.update(decision.headers)
        raise ApiError(429, decision.message, code=decision.code)


async def reserve(call: Call, amount: Decimal) -> None:
    """Hold ``amount`` (the worst-case cost) from the organization's wallet before any
    upstream call, within the project's budgets, the member's cap and the key's caps;
    402 naming the one that does not cover it."""
    if amount <= 0:
        return
    ctx = call.ctx
    call.hold = await leases.reserve(ctx.organization_id, call.request_id, amount, caps=ctx.caps)


async def ensure_rate_headers(call: Call) -> None:
    """Errors raised before the rate-limit step still carry the key's rate-limit headers."""
    if call.ctx is not None and "x-ratelimit-limit" not in call.headers:
        call.rules = call.rules or rules_for(call.ctx)
        call.headers.update((await get_limiter().peek(call.rules)).headers)


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
