"""Money in templates, built in to every template: ``{{ amount|usd }}``, ``{{ amount|signed_usd }}``.

Both are ``portal.lib.money.format_usd``: the one display rule for amounts.
"""

from __future__ import annotations

from django import template

from portal.lib.money import format_usd

register = template.Library()


@register.filter
def usd(value) -> str:
    """``$12.50``, ``$1,250.00``, ``-$0.0003``; empty for no value."""
    return format_usd(value)


@register.filter
def signed_usd(value) -> str:
    """A ledger amount: ``+$10.00``, ``-$0.0003``."""
    return format_usd(value, signed=True)
