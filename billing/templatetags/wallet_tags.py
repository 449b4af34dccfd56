"""Money in templates: always ``billing.flows.money()`` with a ``$`` prefix."""

from __future__ import annotations

from decimal import Decimal

from django import template

from billing.flows import money

register = template.Library()


@register.filter
def usd(value: Decimal | None) -> str:
    """``$12.5``, ``-$0.0003``; empty for no value."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    return f"-${money(-value)}" if value < 0 else f"${money(value)}"


@register.filter
def signed_usd(value: Decimal) -> str:
    """A ledger amount: ``+$10``, ``-$0.0003``."""
    value = Decimal(value)
    return f"-${money(-value)}" if value < 0 else f"+${money(value)}"
