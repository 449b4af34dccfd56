"""What the playground needs beyond the gateway: the models a user may pick, and the
usage (cost, tokens, latency) of one of the user's own requests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.snapshots import playground_context
from billing.wallets import wallet_summary
from catalog.snapshots import ModelEntry, get_catalog
from ground.money import exact_usd, format_cost, format_usd, plain
from usage.drain import pending_events
from usage.models import UsageRecord
from usage.tasks import request_drain

if TYPE_CHECKING:
    from accounts.models import User

# The chat parameters the playground offers; anything else a client sends is dropped,
# so the session-authenticated endpoint is no broader than the page.
CHAT_FIELDS = ("model", "messages", "temperature", "top_p", "max_tokens")


async def models_for(user: User) -> list[ModelEntry]:
    """Enabled chat models with a deployment that the user's allowlist admits.

    The same cached catalog the chat endpoint resolves against, so the picker never
    offers a model that the next request would not find.
    """
    ctx = playground_context(user)
    catalog = await get_catalog()
    usable = [
        m
        for m in catalog.models.values()
        if m.type == "llm" and m.deployments and ctx.allows_model(m.public_id)
    ]
    return sorted(usable, key=lambda m: (m.name.lower(), m.public_id))


def model_option(model: ModelEntry) -> dict:
    return {
        "id": model.public_id,
        "name": model.name,
        "input_per_1m": plain(model.input_price_per_1m),
        "output_per_1m": plain(model.output_price_per_1m),
        "price_text": f"{format_cost(model.input_price_per_1m)} in · "
        f"{format_cost(model.output_price_per_1m)} out per 1M tokens",
        "context_window": model.context_window,
        "max_output_tokens": model.max_output_tokens,
    }


def chat_body(body: dict) -> dict:
    """The request the playground sends: always streamed, always with the usage chunk
    (the page shows the token counts from it)."""
    chat = {name: body[name] for name in CHAT_FIELDS if name in body}
    chat["stream"] = True
    chat["stream_options"] = {"include_usage": True}
    return chat


def request_usage(user_id: int, request_id: str) -> dict | None:
    """The metered usage of one of ``user_id``'s requests, once it is recorded, with the
    wallet it was charged to; ``None`` while its usage event is still pending."""
    records = UsageRecord.objects.filter(user_id=user_id, request_id=request_id)
    record = records.first()
    if record is None:
        # Not drained yet: ask the worker to hurry (the page polls again). Recording and
        # charging happen in one transaction, so once the record exists the wallet below
        # already reflects it.
        if any(e.request_id == request_id for e in pending_events(user_id)):
            request_drain()
            record = records.first()  # an eager (inline) worker has drained it already
        if record is None:
            return None
    return {
        "request_id": record.request_id,
        "model": record.model,
        "status": record.status,
        "cost_usd": plain(record.cost_usd),
        "cost_display": format_cost(record.cost_usd),
        "cost_exact": exact_usd(record.cost_usd),
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "tokens_reported": record.tokens_reported,
        "latency_ms": record.latency_ms,
        "ttft_ms": record.ttft_ms,
        "wallet": wallet_for_display(user_id),
    }


def wallet_for_display(user_id: int) -> dict:
    wallet = wallet_summary(user_id)
    return {
        **wallet,
        "balance_display": format_usd(wallet["balance_usd"]),
        "balance_exact": exact_usd(wallet["balance_usd"]),
    }
