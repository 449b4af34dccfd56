"""The ``/v1`` API (alias ``/api/v1``): one NinjaAPI, its routers and error handlers.

Every error under ``/v1`` leaves as ``{"error": {...}}`` (see ``ground.errors``);
never an HTML page or a traceback.
"""

from __future__ import annotations

import logging

from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from gateway.admin_api.api import routers as admin_routers
from gateway.api import router as gateway_router
from ground import bodies
from ground.db import RETRY_AFTER_SECONDS, is_lock_timeout
from ground.errors import ApiError, error_response
from ocr.api import router as ocr_router
from retrieval.api import router as retrieval_router
from retrieval.files_api import router as files_router
from retrieval.vector_store_files_api import router as vector_store_files_router
from retrieval.vector_stores_api import router as vector_stores_router

log = logging.getLogger(__name__)

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "code", "param"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "code": {"type": ["string", "null"]},
                "param": {"type": ["string", "null"]},
            },
        }
    },
}
ERROR_STATUSES = {
    "400": "The request is malformed",
    "401": "Missing, unknown, revoked or expired API key",
    "402": "The wallet or the key's spend cap cannot cover the request",
    "403": "The key lacks the scope, the model or the address",
    "404": "No such model, job or route",
    "413": "The body is larger than the endpoint accepts",
    "415": "Wrong content type",
    "422": "A required field is missing or has the wrong type",
    "429": "A rate limit was reached (see Retry-After)",
    "502": "Every upstream provider failed",
    "503": "No provider is available right now",
}


CLEAN_URL_TEXT = "^[^\\x00-\\x1f\\x7f]*$"


class PorticoApi(NinjaAPI):
    """The NinjaAPI whose OpenAPI schema tells clients (and schemathesis) the whole truth:
    bearer authentication, and the error format of every refusal."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {})["bearerAuth"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: `Authorization: Bearer sk-…`",
        }
        schemas = components.setdefault("schemas", {})
        # The request bodies and query options read with ground.bodies (their $refs).
        for name, definition in bodies.COMPONENTS.items():
            schemas.setdefault(name, definition)
        schemas["Error"] = ERROR_SCHEMA
        schema["security"] = [{"bearerAuth": []}]
        error = {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        }
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, description in ERROR_STATUSES.items():
                    responses.setdefault(status, {"description": description, **error})
        return schema


api = PorticoApi(
    title="Portico API",
    version="1",
    description=(
        "OpenAI-compatible gateway for LLM, OCR and retrieval services. "
        "Authenticate with `Authorization: Bearer sk-…`. Served under `/v1` and `/api/v1`."
    ),
    urls_namespace="v1",
    docs_url="/docs",
)


@api.exception_handler(ApiError)
def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return exc.response()


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """A path parameter ninja could not read: the same mapping as every body and query
    option (``ground.bodies.invalid``)."""
    return bodies.invalid(list(exc.errors), located=True).response()


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        401,
        "Missing or invalid API key. Send 'Authorization: Bearer sk-…'.",
        code="invalid_api_key",
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error_response(exc.status_code, str(exc))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(404, str(exc) or "Not found")


def database_busy() -> ApiError:
    return ApiError(
        503,
        "The database is busy with another write; try again in a moment.",
        code="database_busy",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


@api.exception_handler(OperationalError)
def on_database_error(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    """A lock wait that ran out is a 503 with ``Retry-After``, never a 500."""
    if is_lock_timeout(exc):
        log.warning("Database busy on %s %s: %s", request.method, request.path, exc)
        return database_busy().response()
    return on_unexpected_error(request, exc)


@api.exception_handler(Exception)
def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return error_response(500, "Internal server error. The incident was logged.")


# Routers of the apps that serve /v1.
api.add_router("", gateway_router)
api.add_router("", ocr_router)
api.add_router("", retrieval_router)
api.add_router("", files_router)
api.add_router("", vector_stores_router)
api.add_router("", vector_store_files_router)
for admin_router in admin_routers:  # OpenAI's Admin API: /v1/organization/…
    api.add_router("", admin_router)
