"""Money in templates, built in to every template (``ground.money``'s two forms):

* ``{{ amount|usd }}`` — balances, totals, budgets: ``$0.96``;
* ``{{ amount|signed_usd }}`` — a ledger line: ``+$10.00``, ``-$0.03``;
* ``{{ amount|cost_usd }}`` — one request's cost or a unit price: ``$0.0000935``.

Each renders ``<span class="money" title="exact amount">…</span>``: the exact amount on
hover, and never a line break inside the amount.
"""

from __future__ import annotations

from django import template

from ground.money import cost_html, usd_html

register = template.Library()


@register.filter
def usd(value):
    """``$12.50``, ``$1,250.00``, ``$0.96`` (exact in the title); empty for no value."""
    return usd_html(value)


@register.filter
def signed_usd(value):
    """A ledger amount: ``+$10.00``, ``-$0.03``."""
    return usd_html(value, signed=True)


@register.filter
def cost_usd(value):
    """One request's cost or a unit price: ``$0.0000935``, ``$0.058``."""
    return cost_html(value)
