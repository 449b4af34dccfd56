"""Addresses: the client's (as the server or a trusted TLS proxy saw it) and this site's."""

from __future__ import annotations

from django.conf import settings


def client_ip(request) -> str | None:
    if settings.SECURE_PROXY_SSL_HEADER:  # behind a trusted proxy: the address it saw
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            # The proxy appends the peer it saw; earlier entries come from the client.
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR")


def site_url(request) -> str:
    """This deployment's public base URL: ``SITE_URL`` if set, else what the request shows."""
    if settings.SITE_URL:
        return settings.SITE_URL.rstrip("/")
    return request.build_absolute_uri("/").rstrip("/")


def api_base_url(request) -> str:
    return f"{site_url(request)}/v1"
