"""Errors raised by the wire-format adapters."""

from __future__ import annotations

from typing import Any

__all__ = ["AdapterError", "openai_error"]


def openai_error(
    message: str,
    type: str = "invalid_request_error",
    *,
    code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    """Build an OpenAI-style error body: ``{"error": {message, type, code, param}}``."""
    return {"error": {"message": message, "type": type, "code": code, "param": param}}


class AdapterError(Exception):
    """A request cannot be translated to the target wire format.

    This is always the client's fault (HTTP 400): an invalid value, or a
    parameter whose meaning the target provider cannot honour.
    """

    status = 400
    type = "invalid_request_error"

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code

    def to_dict(self) -> dict[str, Any]:
        """Return the OpenAI-style error body for this error."""
        return openai_error(self.message, self.type, code=self.code, param=self.param)

    def __repr__(self) -> str:
        return f"AdapterError(message={self.message!r}, param={self.param!r}, code={self.code!r})"
