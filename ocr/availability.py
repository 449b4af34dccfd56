"""Whether OCR can run here: the workers report their engine's state, the web asks it."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from ground.errors import ApiError
from ocr import engine

ENGINE_STATE_KEY = "ocr:engine-state"


ENGINE_STATE_SECONDS = 120


def report_engine_state() -> str | None:
    """A worker says whether it can run OCR (every sweep, and when it starts)."""
    problem = engine.engine_problem()
    cache.set(ENGINE_STATE_KEY, problem or "ok", ENGINE_STATE_SECONDS)
    return problem


def engine_unavailable_reason() -> str | None:
    """Why OCR cannot run on this deployment, or None. With Redis, the workers (which run
    the engine) report it; on one machine without Redis, this machine is the worker."""
    if settings.REDIS_URL:
        state = cache.get(ENGINE_STATE_KEY)
        return None if state in (None, "ok") else state
    return engine.engine_problem()


def check_engine_available() -> None:
    reason = engine_unavailable_reason()
    if reason:
        raise ApiError(
            503,
            f"OCR is unavailable on this server ({reason}). Nothing was charged; an "
            "operator must install the OCR engine's language data.",
            code="ocr_unavailable",
        )
