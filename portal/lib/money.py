"""Money: one parser, one field factory, one display rule. Never a float.

Amounts are ``Decimal`` USD with ``PLACES`` decimal places in the database (prices per
token are tiny). Display follows one rule everywhere (pages, admin, CSV):

* thousands separators always: ``$1,250.00``;
* at least two decimals (cents), so balances and totals read ``$0.00`` / ``$12.50``;
* more decimals only when the amount has them, up to ``PLACES`` — a sub-cent
  per-request cost stays exact (``$0.0000123``) instead of rounding to ``$0.00``;
* a sign in front of the dollar sign: ``-$0.0003``; ``signed=True`` adds ``+``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

DIGITS = 20
PLACES = 10
QUANTUM = Decimal(1).scaleb(-PLACES)
ZERO = Decimal(0)
CENT = Decimal("0.01")


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

    For machine-readable places (JSON, form initial values), not for display.
    """
    value = Decimal(value)
    return format(value.normalize(), "f") if value else "0"


def format_usd(value: object, *, signed: bool = False) -> str:
    """The display form of an amount (see the module's rule); ``""`` for ``None``/``""``."""
    if value is None or value == "":
        return ""
    amount = parse_money(value)
    sign = "-" if amount < 0 else ("+" if signed and amount > 0 else "")
    amount = abs(amount)
    if amount == amount.quantize(CENT):
        return f"{sign}${amount:,.2f}"
    whole, _, fraction = plain(amount.quantize(QUANTUM)).partition(".")
    return f"{sign}${int(whole):,}.{fraction.ljust(2, '0')}"
