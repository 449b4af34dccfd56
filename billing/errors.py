"""Billing's refusal: a 402 for money, else the status given, in the API's error format."""

from __future__ import annotations

from ground.errors import ApiError


class BillingError(ApiError):
    """A billing refusal that knows its wire form: 402 for money, else the status given."""

    def __init__(self, message: str, code: str, status: int = 402) -> None:
        super().__init__(status, message, code=code)
