from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from accounts.models import Scope
from billing.wallets import current_organization_id, wallet_summary
from catalog.snapshots import get_catalog_sync
from catalog.views import quickstart_model
from ground.money import usd_html
from ocr.availability import engine_unavailable_reason
from portal.health import run_checks
from usage.drain import pending_events
from usage.queries import dashboard_summary
from usage.tasks import request_drain


async def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


async def readyz(request: HttpRequest) -> HttpResponse:
    checks = await sync_to_async(run_checks, thread_sensitive=False)()
    failing = [name for name, result in checks.items() if result != "ok"]
    # OCR's engine is reported, not required: the web serves everything else without it.
    ocr_problem = await sync_to_async(engine_unavailable_reason, thread_sensitive=False)()
    checks["ocr"] = f"unavailable: {ocr_problem}" if ocr_problem else "ok"
    if failing:
        body = {"status": "unavailable", "failing": failing, "checks": checks}
        return JsonResponse(body, status=HTTPStatus.SERVICE_UNAVAILABLE)
    return JsonResponse({"status": "ok", "checks": checks})


# What each readiness check means to a person reading the status page.
STATUS_PARTS = {
    "database": "Database",
    "cache": "Cache and rate limits",
    "broker": "Background jobs (mail, OCR, usage recording)",
    "ocr": "OCR engine",
}


async def status(request: HttpRequest) -> HttpResponse:
    """The footer's "status": /readyz's checks as a page people read (machines keep
    /healthz and /readyz). Parts are named, failures are not detailed: it is public."""
    checks = await sync_to_async(run_checks, thread_sensitive=False)()
    ocr_problem = await sync_to_async(engine_unavailable_reason, thread_sensitive=False)()
    checks["ocr"] = "unavailable" if ocr_problem else "ok"
    parts = [(STATUS_PARTS.get(name, name), result == "ok") for name, result in checks.items()]
    # OCR is optional (/readyz reports it without failing): only the others make Portico down.
    working = all(result == "ok" for name, result in checks.items() if name != "ocr")
    context = {"parts": parts, "working": working}
    page = await sync_to_async(render)(request, "portal/status.html", context)
    page.status_code = HTTPStatus.OK if working else HTTPStatus.SERVICE_UNAVAILABLE
    return page


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    # Requests that finished in the last second wait for the worker: hurry it, and say so.
    pending = len(pending_events(request.user.pk))
    if pending:
        request_drain()
    catalog = set(get_catalog_sync().models)
    summary = dashboard_summary(request.user.pk, catalog=catalog)
    favourites = [model for model, _ in summary.top_models]
    wallet = wallet_summary(current_organization_id(request.user))
    context = {
        "wallet": {**wallet, **{k: usd_html(v) for k, v in wallet.items() if k.endswith("_usd")}},
        "held": bool(Decimal(wallet["held_usd"])),
        "summary": summary,
        "pending_count": pending,
        "spend_chart": summary.spend_chart(),
        "example_model": quickstart_model(request.user, favourites),
        # Failed calls may name any model: only the catalog's have a page to link to.
        "catalog_models": catalog,
    }
    return render(request, "portal/dashboard.html", context)


# The error table of the quick start, after /work/shared/API.md: (status, type, codes, when).
API_ERRORS = (
    (
        400,
        "invalid_request_error",
        "invalid_json, missing_required_parameter, invalid_parameter, model_not_supported",
        "Malformed body or a bad parameter",
    ),
    (
        401,
        "authentication_error",
        "missing_api_key, invalid_api_key, expired_api_key, revoked_api_key, account_disabled",
        "Missing, unknown, expired or revoked key",
    ),
    (
        402,
        "insufficient_quota",
        "insufficient_balance, key_budget_exceeded",
        "Your wallet, or the key's spend cap, cannot cover the request",
    ),
    (
        403,
        "permission_error",
        "missing_scope, model_not_allowed, ip_not_allowed",
        "Scope missing, model outside the allowlist, address outside the key's IP ranges",
    ),
    (
        404,
        "not_found_error",
        "model_not_found, not_found",
        "Unknown model, job, document or collection — or one that is not yours",
    ),
    (409, "conflict", "conflict", "State conflict, e.g. retrying a finished OCR job"),
    (410, "gone", "gone", "Expired OCR job"),
    (413, "request_too_large", "request_too_large", "Upload too large"),
    (415, "unsupported_media_type", "unsupported_media_type", "Unsupported content type"),
    (422, "invalid_request_error", "—", "Missing required field, job with no retryable copy"),
    (
        429,
        "rate_limit_error",
        "rate_limit_exceeded, tokens_per_minute_exceeded, daily_limit_exceeded",
        "A rate limit, token quota or daily limit; see Retry-After",
    ),
    (500, "server_error", "internal_error", "Our bug; logged, never a traceback"),
    (
        502,
        "upstream_error",
        "upstream_failed, upstream_error",
        "Every provider for the model failed",
    ),
    (503, "service_unavailable", "service_unavailable", "No healthy provider for the model"),
)


SCOPE_ENDPOINTS = {
    "models": "GET /models, GET /models/catalog",
    "chat": "POST /chat/completions, POST /responses",
    "embeddings": "POST /embeddings",
    "ocr": "/ocr/upload, /ocr/jobs/…, /ocr/thumbnails/…, /ocr/images/…",
    "alretrieval": "/alRetrieval/collections/…, /files/…, /vector_stores/…",
    "usage": "GET /usage, GET /wallet",
}


def example_models() -> tuple[str, str]:
    """The chat and embedding models the quick start's examples call."""
    deployed = [m for m in get_catalog_sync().models.values() if m.deployments]

    def pick(kind: str, preferred: str) -> str:
        ids = sorted(m.public_id for m in deployed if m.type == kind)
        return preferred if preferred in ids or not ids else ids[0]

    return pick("llm", "portico/test-chat"), pick("embedding", "portico/test-embedding")


def docs(request: HttpRequest) -> HttpResponse:
    chat_model, embedding_model = example_models()
    context = {
        "scopes": [
            (value, label, SCOPE_ENDPOINTS.get(value, "")) for value, label in Scope.choices
        ],
        "errors": API_ERRORS,
        "chat_model": chat_model,
        "embedding_model": embedding_model,
    }
    return render(request, "portal/docs.html", context)
