"""Usage events as the gateway makes them, for tests that record usage directly."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

from usage.events import UsageEvent


def usage_event(user, **overrides) -> UsageEvent:
    """A successful chat request's event for ``user``; ``overrides`` replace any field."""
    base = {
        "request_id": f"req_{uuid.uuid4().hex}",
        "user_id": user.pk,
        "api_key_id": None,
        "model": "fake-llm",
        "provider": "fake",
        "upstream_model": "fake-llm",
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "estimated_prompt_tokens": 9,
        "cost_usd": Decimal("0.0000250000"),
        "latency_ms": 120,
        "created_at": time.time(),
    }
    return UsageEvent(**{**base, **overrides})
