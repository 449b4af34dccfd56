"""Money: one parser, one field factory, one display rule. Never a float.

Amounts are ``Decimal`` USD with ``PLACES`` decimal places in the database (prices per
token are tiny). The display rule has two forms, used everywhere (pages, admin, e-mail):

* ``format_usd`` — an amount of money someone holds or spent in total: balances, totals,
  budgets, chart values, ledger lines. Whole cents with thousands separators
  (``$1,250.00``, ``$0.96``, ``-$3.10``); a non-zero amount that rounds to no cent reads
  ``<$0.01`` so it never looks like nothing. Pages put the exact amount in a ``title``
  (``usd_html``), so hovering shows ``$0.9557219``.
* ``format_cost`` — what one request costs, or a unit price: at least cents, and three
  significant digits below that (``$0.0000935``, ``$0.058``, ``$0.00085``), so a sub-cent
  cost stays readable instead of rounding to ``$0.00``; the exact amount in the ``title``
  (``cost_html``).

``exact_usd`` spells every digit (audit trails, titles); ``plain`` is the machine form
(CSV, JSON, form values): ``0.0000935``. A sign goes in front of the dollar sign
(``-$0.03``); ``signed=True`` adds ``+`` to credits. Rendered amounts never wrap inside
(``.money { white-space: nowrap }``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.html import format_html
from django.utils.safestring import SafeString

DIGITS = 20
PLACES = 10
QUANTUM = Decimal(1).scaleb(-PLACES)
ZERO = Decimal(0)
CENT = Decimal("0.01")
SIGNIFICANT = 3  # digits a per-request cost keeps below a cent


def money_field(**options):
    """A ``DecimalField`` with the project's money precision."""
    from django.db import models

    return models.DecimalField(max_digits=DIGITS, decimal_places=PLACES, **options)


def parse_money(value: object) -> Decimal:
    """``value`` as an exact amount; ``ValueError`` for anything that is not a finite number.

    Accepts ``Decimal``, ``int`` and decimal strings (``"12.5"``, ``"1e-6"``); floats are
    refused so binary rounding never reaches a ledger.
    """
    if isinstance(value, (bool, float)):
        raise ValueError(f"Not an exact amount: {value!r}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"Not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"Not a finite amount: {value!r}")
    return amount


def plain(value: Decimal) -> str:
    """A decimal string without exponent or trailing zeros: ``'4.99998'``, ``'0'``, ``'12.5'``.

    For machine-readable places (CSV, JSON, form initial values), not for display.
    """
    value = Decimal(value)
    return format(value.normalize(), "f") if value else "0"


def _sign(amount: Decimal, signed: bool) -> str:
    return "-" if amount < 0 else ("+" if signed and amount > 0 else "")


def _dollars(amount: Decimal, places: int) -> str:
    """``$1,234.5600`` → trailing zeros after the cents dropped: ``$1,234.56``."""
    text = f"{amount.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP):,.{places}f}"
    whole, _, fraction = text.partition(".")
    return f"${whole}.{fraction.rstrip('0').ljust(2, '0')}"


def format_usd(value: object, *, signed: bool = False) -> str:
    """An amount in cents (balances, totals, budgets, charts); ``""`` for ``None``/``""``."""
    if value is None or value == "":
        return ""
    amount = parse_money(value)
    sign = _sign(amount, signed)
    cents = abs(amount).quantize(CENT, ROUND_HALF_UP)
    if not cents and amount:
        return f"{sign}<$0.01"
    return f"{sign}{_dollars(cents, 2)}"


def format_cost(value: object, *, signed: bool = False) -> str:
    """One request's cost or a unit price: cents at least, three significant digits below."""
    if value is None or value == "":
        return ""
    amount = parse_money(value)
    size = abs(amount)
    places = 2 if not size else min(PLACES, max(2, SIGNIFICANT - 1 - size.adjusted()))
    return f"{_sign(amount, signed)}{_dollars(size, places)}"


def exact_usd(value: object, *, signed: bool = False) -> str:
    """Every digit the amount has, at least cents: ``$0.9557219``, ``$1,250.00``."""
    if value is None or value == "":
        return ""
    amount = parse_money(value)
    return f"{_sign(amount, signed)}{_dollars(abs(amount).quantize(QUANTUM), PLACES)}"


def _html(shown: str, value: object, signed: bool) -> SafeString | str:
    if not shown:
        return ""
    return format_html(
        '<span class="money" title="{}">{}</span>', exact_usd(value, signed=signed), shown
    )


def usd_html(value: object, *, signed: bool = False) -> SafeString | str:
    """``format_usd`` in a no-wrap span whose ``title`` is the exact amount."""
    return _html(format_usd(value, signed=signed), value, signed)


def cost_html(value: object, *, signed: bool = False) -> SafeString | str:
    """``format_cost`` in a no-wrap span whose ``title`` is the exact amount."""
    return _html(format_cost(value, signed=signed), value, signed)
