"""ASGI entry point: ``uvicorn portal.asgi:application``.

Requests under ``/v1`` (and ``/api/v1``) go to a Django handler with only the API's own
async middleware. Django's stock middleware (sessions, CSRF, auth, messages…) run
their hooks through ``sync_to_async`` under ASGI — about two dozen thread hops per
request — and the API needs none of them: it authenticates with bearer keys.
Everything else (pages, admin, static files) goes through the full stack.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

API_MIDDLEWARE = ["portal.middleware.ApiSurfaceMiddleware"]
API_PREFIXES = ("/v1/", "/api/v1/")


class ApiASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


django_application = get_asgi_application()
api_application = ApiASGIHandler()


async def application(scope, receive, send) -> None:
    if scope["type"] == "http" and scope["path"].startswith(API_PREFIXES):
        await api_application(scope, receive, send)
    else:
        await django_application(scope, receive, send)
