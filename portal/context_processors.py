from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from ground.net import api_base_url

NAV = (
    ("dashboard", "Dashboard"),
    ("keys", "Keys"),
    ("models", "Models"),
    ("usage", "Usage"),
    ("wallet", "Wallet"),
    ("ocr", "OCR"),
    ("retrieval", "Retrieval"),
    ("playground", "Playground"),
    ("docs", "Docs"),
)


def site(request: HttpRequest) -> dict:
    current = getattr(getattr(request, "resolver_match", None), "url_name", None)
    items = [
        {"url": reverse(name), "label": label, "active": name == current} for name, label in NAV
    ]
    return {"nav_items": items, "api_base_url": api_base_url(request)}
