from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from accounts.current import current_organization, memberships
from ground.net import api_base_url

NAV = (
    ("dashboard", "Dashboard"),
    ("keys", "Keys"),
    ("org_projects", "Organization"),
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
    section = "org_projects" if (current or "").startswith("org_") else current
    items = [
        {"url": reverse(name), "label": label, "active": name == section} for name, label in NAV
    ]
    return {
        "nav_items": items,
        "api_base_url": api_base_url(request),
        **organizations(request),
    }


def organizations(request: HttpRequest) -> dict:
    """The organization switcher's choices and the session's organization."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "switcher_memberships": memberships(user),
        "current_organization": current_organization(request),
    }
