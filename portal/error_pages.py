"""Portico's own error pages (``templates/404.html``, ``403.html``, ``400.html``,
``500.html``), also when ``DEBUG`` is on.

Django answers a 404 or a crash under ``DEBUG`` with its technical page (the whole
URL-pattern list, a traceback). ``make run`` runs with ``DEBUG`` on, so a user following
a stale link saw that page. ``ErrorPagesMiddleware`` serves Portico's pages instead;
a developer who wants Django's technical pages sets ``DEBUG_ERROR_PAGES=1``. With
``DEBUG`` off, Django itself renders the same templates. ``/v1`` answers keep the API's
JSON errors (``portal.middleware.ApiSurfaceMiddleware``).
"""

from __future__ import annotations

import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, get_resolver, get_urlconf
from django.views import defaults
from django.views.csrf import csrf_failure as technical_csrf_failure

log = logging.getLogger("django.request")


def portico_pages_wanted(request: HttpRequest) -> bool:
    """Django shows its own pages unless DEBUG is on; Portico takes over then, except for
    the API (JSON errors) and for a developer who asked for the technical pages."""
    if not settings.DEBUG or settings.DEBUG_ERROR_PAGES:
        return False
    path = request.path_info
    return not (path == "/v1" or path.startswith("/v1/") or path.startswith("/api/v1"))


def unknown_path(request: HttpRequest) -> Resolver404 | None:
    """The resolver's 404 for a path no URL pattern matches, else None."""
    try:
        get_resolver(getattr(request, "urlconf", None) or get_urlconf()).resolve(request.path_info)
    except Resolver404 as exc:
        return exc
    return None


def error_page(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The page Django would render for ``exc`` with ``DEBUG`` off."""
    if isinstance(exc, Http404):
        return defaults.page_not_found(request, exc)
    if isinstance(exc, PermissionDenied):
        return defaults.permission_denied(request, exc)
    if isinstance(exc, (BadRequest, SuspiciousOperation)):
        return defaults.bad_request(request, exc)
    return defaults.server_error(request)


class ErrorPagesMiddleware:
    """Portico's 404/403/400/500 pages while ``DEBUG`` is on (see the module docstring).

    Placed after ``CommonMiddleware``, so a path missing its slash is still redirected.
    """

    async_capable = True
    sync_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        if portico_pages_wanted(request) and (missing := unknown_path(request)):
            return defaults.page_not_found(request, missing)
        return self.get_response(request)

    async def _acall(self, request: HttpRequest):
        if portico_pages_wanted(request) and (missing := unknown_path(request)):
            # The page reads the signed-in user: the ORM runs outside the event loop.
            return await sync_to_async(defaults.page_not_found)(request, missing)
        return await self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not portico_pages_wanted(request):
            return None
        response = error_page(request, exc)
        if response.status_code >= 500:
            # Django logs what it handles itself; this one it will not see.
            log.error(
                "Internal Server Error: %s",
                request.path,
                exc_info=exc,
                extra={"status_code": response.status_code, "request": request},
            )
            response._has_been_logged = True  # Django's log_response: once, with the traceback
        return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form (an old page, an expired session) in the site's layout."""
    if settings.DEBUG and settings.DEBUG_ERROR_PAGES:
        return technical_csrf_failure(request, reason)
    return render(request, "403.html", {"csrf_refused": True}, status=403)
