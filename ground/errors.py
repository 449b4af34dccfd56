"""The API's one error shape: ``{"error": {"message", "type", "code", "param"}}``."""

from __future__ import annotations

from http import HTTPStatus

import orjson
from django.http import HttpResponse

# The default type and code for each status, after ../shared/API.md.
DEFAULTS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    402: ("insufficient_quota", "insufficient_balance"),
    403: ("permission_error", None),
    404: ("not_found_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    409: ("conflict", "conflict"),
    410: ("gone", "gone"),
    413: ("request_too_large", "request_too_large"),
    415: ("unsupported_media_type", "unsupported_media_type"),
    422: ("invalid_request_error", None),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", "internal_error"),
    502: ("upstream_error", "upstream_error"),
    503: ("service_unavailable", "service_unavailable"),
    504: ("upstream_error", "upstream_timeout"),
}


class ApiError(Exception):
    """Raised anywhere under /v1; rendered by the API's exception handler."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        default_type, default_code = DEFAULTS.get(status, ("server_error", None))
        self.status = status
        self.message = message
        self.type = type or default_type
        self.code = code if code is not None else default_code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "code": self.code,
                "param": self.param,
            }
        }

    def response(self) -> HttpResponse:
        response = HttpResponse(
            orjson.dumps(self.body()), status=self.status, content_type="application/json"
        )
        for name, value in self.headers.items():
            response[name] = value
        return response


def error_response(
    status: int,
    message: str,
    *,
    type: str | None = None,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """The error as a response, without raising (defaults by status, as ``ApiError``)."""
    return ApiError(status, message, type=type, code=code, param=param, headers=headers).response()


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
