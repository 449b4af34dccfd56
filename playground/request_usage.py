"""The usage (cost, tokens, latency) of one of the user's own playground requests, with
the parts it was charged for on the same id (a question to your documents: its searches),
and the wallet it was charged to."""

from __future__ import annotations

from decimal import Decimal

from billing.wallets import current_organization_id, wallet_summary
from ground.money import exact_usd, format_cost, format_usd, plain
from retrieval.file_search_tool import ENDPOINT as FILE_SEARCH_ENDPOINT
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
    # A question to your documents has parts of its own on the same id (``<id>_fs1``, the
    # searches; ``<id>_plan``, a planning round; ``<id>_fs1_embed``), recorded before the
    # answer: its cost is theirs and the answer's.
    parts = list(
        UsageRecord.objects.filter(user_id=user_id, request_id__startswith=f"{request_id}_")
    )
    cost = record.cost_usd + sum((p.cost_usd for p in parts), Decimal(0))
    return {
        "request_id": record.request_id,
        "model": record.model,
        "status": record.status,
        "cost_usd": plain(cost),
        "cost_display": format_cost(cost),
        "cost_exact": exact_usd(cost),
        "searches": sum(p.endpoint == FILE_SEARCH_ENDPOINT for p in parts),
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
