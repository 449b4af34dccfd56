"""Prices: what a request costs, and the most it can cost (what a hold reserves)."""

from __future__ import annotations

from decimal import Decimal

from catalog.snapshots import ModelEntry

PER_MILLION = Decimal(1_000_000)


def price(model: ModelEntry, prompt: int, completion: int, cached: int = 0) -> Decimal:
    """USD for ``prompt`` input tokens (``cached`` of them at the cached price, when the
    model has one) and ``completion`` output tokens."""
    cached = min(cached, prompt)
    cached_price = (
        model.cached_input_price_per_1m
        if model.cached_input_price_per_1m is not None
        else model.input_price_per_1m
    )
    total = (
        model.input_price_per_1m * (prompt - cached)
        + cached_price * cached
        + model.output_price_per_1m * completion
    )
    return total / PER_MILLION


def worst_case_cost(model: ModelEntry | None, prompt: int, max_output: int) -> Decimal:
    """The most a request can cost: every input token uncached, every output token used."""
    return price(model, prompt, max_output) if model else Decimal(0)
