"""The usage (cost, tokens, latency) of one of the user's own playground requests, and
the wallet it was charged to."""

from __future__ import annotations

from billing.wallets import current_organization_id, wallet_summary
from ground.money import exact_usd, format_cost, format_usd, plain
from usage.drain import pending_events
from usage.models import UsageRecord
from usage.tasks import request_drain


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
    wallet = wallet_summary(current_organization_id(user_id))
    return {
        **wallet,
        "balance_display": format_usd(wallet["balance_usd"]),
        "balance_exact": exact_usd(wallet["balance_usd"]),
    }
