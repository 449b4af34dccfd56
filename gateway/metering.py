"""A request's usage event, made durable before the client sees the end of the answer;
the rate limiter's token estimate settled to the real count; and the usage of requests
that end early (cancelled by the client)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from decimal import Decimal

from django.conf import settings

from billing import leases
from billing.pricing import price
from gateway.call import Call
from gateway.metrics import observe_answer
from gateway.ratelimit import get_limiter
from usage.events import UsageEvent, emit

log = logging.getLogger(__name__)


_background: set[asyncio.Task] = set()


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
        organization_id=call.ctx.organization_id,
        project_id=call.ctx.project_id,
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


async def record_part(call: Call, event: UsageEvent) -> None:
    """A usage event for part of ``call`` (its own request id), charged from the call's
    reservation while the call runs on (``billing.leases.settle_part``)."""
    leases.settle_part(call.hold, event)
    await emit(event)


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
