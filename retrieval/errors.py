"""Retrieval's refusal: leaves the API as ``{"error": {...}}`` with its status."""

from __future__ import annotations

from ground.errors import ApiError


class RetrievalError(ApiError):
    """A refusal that leaves as ``{"error": {...}}`` with this status."""

    def __init__(
        self, status: int, message: str, code: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(status, message, code=code, param=param)

    def __repr__(self) -> str:
        return f"RetrievalError({self.status}, {self.message!r}, code={self.code!r})"
