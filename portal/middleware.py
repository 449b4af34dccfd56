"""Middleware: the /v1 API surface, static files, and the pages' security headers."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware

from ground.db import RETRY_AFTER_SECONDS, is_lock_timeout
from ground.errors import error_response, status_phrase
from ground.ids import new_request_id

API_PREFIX = "/v1/"
ALIAS_PREFIX = "/api/v1/"


class ApiSurfaceMiddleware:
    """Serves ``/api/v1/…`` as ``/v1/…`` and keeps every /v1 error in the API's format.

    Responses Django or ninja produce outside the API's handlers (405 from a wrong
    method, a 404 from the URL resolver) arrive here as plain text or HTML.
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
        started = time.perf_counter()
        is_api = rewrite_alias(request)
        response = self.get_response(request)
        return with_api_headers(as_api_error(response), started) if is_api else response

    async def _acall(self, request: HttpRequest):
        started = time.perf_counter()
        is_api = rewrite_alias(request)
        response = await self.get_response(request)
        return with_api_headers(as_api_error(response), started) if is_api else response


def rewrite_alias(request: HttpRequest) -> bool:
    path = request.path_info
    if path.startswith(ALIAS_PREFIX) or path == ALIAS_PREFIX.rstrip("/"):
        request.path_info = path[len("/api") :]
        return True
    return path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")


def with_api_headers(response: HttpResponse, started: float) -> HttpResponse:
    """Answers the API's handlers never saw (an unknown route, a wrong method) get the
    ``x-request-id`` and ``Server-Timing`` every /v1 answer carries."""
    if "x-request-id" not in response:
        response["x-request-id"] = new_request_id()
    if "Server-Timing" not in response:
        response["Server-Timing"] = f"gateway;dur={(time.perf_counter() - started) * 1000:.2f}"
    return response


def as_api_error(response: HttpResponse) -> HttpResponse:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.status_code < 400 or response.get("Content-Type", "").startswith(
        "application/json"
    ):
        return response
    status = response.status_code
    if status == 405:
        allowed = response.get("Allow", "")
        converted = error_response(
            405, f"Method not allowed. Allowed: {allowed}." if allowed else "Method not allowed."
        )
        if allowed:
            converted["Allow"] = allowed
        return converted
    if status == 404:
        return error_response(404, "Unknown API route. See /v1/docs for the reference.")
    return error_response(status, status_phrase(status))


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, async-capable: under ASGI a sync-only middleware would push every
    request (the /v1 hot path included) through thread hops."""

    async_capable = True
    sync_capable = True

    def __init__(self, get_response, settings=None) -> None:
        if settings is None:
            super().__init__(get_response)
        else:
            super().__init__(get_response, settings)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request: HttpRequest):
        static_file = (
            self.find_file(request.path_info)
            if self.autorefresh
            else self.files.get(request.path_info)
        )
        if static_file is not None:
            return self.serve(static_file, request)
        return await self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """A Content-Security-Policy on every page: scripts only from this site (no inline
    script runs), images from here, data URIs and object storage, no framing."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request: HttpRequest):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


def content_security_policy() -> str:
    images = ["'self'", "data:", "blob:"]
    if settings.STORAGE_BUCKET:  # presigned links to object storage
        parts = urlsplit(settings.STORAGE_ENDPOINT_URL or "")
        images.append(f"{parts.scheme}://{parts.netloc}" if parts.netloc else "https:")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",  # htmx's indicator styles, width bars
            f"img-src {' '.join(images)}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
        ]
    )


class DatabaseBusyMiddleware:
    """A page whose database write waited out the lock timeout (another writer held it
    longer) answers 503 with ``Retry-After``, not a server error."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not is_lock_timeout(exception):
            return None
        response = HttpResponse(
            "The server is busy with another write; try again in a moment.",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
