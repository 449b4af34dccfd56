"""Usage events as ``gateway.proxy.usage_event`` makes them, for tests that record usage directly."""

from __future__ import annotations

import time
import uuid


def usage_event(user, **overrides) -> dict:
    """A successful chat request's event for ``user``; ``overrides`` replace any field."""
    base = {
        "request_id": f"req_{uuid.uuid4().hex}",
        "user_id": user.pk,
        "api_key_id": None,
        "model": "fake-llm",
        "provider": "fake",
        "deployment_id": None,
        "upstream_model": "fake-llm",
        "source": "api_key",
        "endpoint": "chat.completions",
        "stream": False,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "cached_tokens": 0,
        "tokens_reported": True,
        "estimated_prompt_tokens": 9,
        "cost_usd": "0.0000250000",
        "status": "ok",
        "http_status": 200,
        "error_code": "",
        "latency_ms": 120,
        "ttft_ms": None,
        "fallbacks": 0,
        "created_at": time.time(),
        "hold_id": None,
    }
    return {**base, **overrides}
