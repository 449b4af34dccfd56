from __future__ import annotations

from http import HTTPStatus

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from portal.health import run_checks


async def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


async def readyz(request: HttpRequest) -> HttpResponse:
    checks = await sync_to_async(run_checks, thread_sensitive=False)()
    failing = [name for name, result in checks.items() if result != "ok"]
    if failing:
        body = {"status": "unavailable", "failing": failing, "checks": checks}
        return JsonResponse(body, status=HTTPStatus.SERVICE_UNAVAILABLE)
    return JsonResponse({"status": "ok", "checks": checks})


# Pages a later part of Portico fills; each says plainly what it will hold.
COMING_NEXT = {
    "keys": ("API keys", "Create scoped API keys with model allowlists, limits and expiry."),
    "models": ("Models", "The model catalog with prices and measured latency."),
    "usage": (
        "Usage",
        "Every request with its tokens, cost and latency, with charts and CSV export.",
    ),
    "wallet": ("Wallet", "Your prepaid balance, ledger and top-ups."),
    "ocr": ("OCR", "Upload PDFs and watch pages, thumbnails and text appear."),
    "playground": ("Playground", "Chat with any model you may use, streamed as it is generated."),
}


@login_required
def coming_next(request: HttpRequest, page: str) -> HttpResponse:
    title, summary = COMING_NEXT[page]
    return render(request, "portal/coming_next.html", {"title": title, "summary": summary})


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/dashboard.html")


def docs(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/docs.html")
