"""Money: one parser, one field, one display rule. Never a float.

Amounts are ``Decimal`` USD with ``PLACES`` decimal places (prices per token are tiny).
In the database every money column is a ``MoneyField`` (``money_field``):
``numeric(20, 10)`` on PostgreSQL, and on SQLite a 64-bit INTEGER count of 10⁻¹⁰ USD,
because SQLite keeps a decimal column as REAL (a binary fraction): ``balance >= held +
amount`` and ``SUM`` were rounded there, and a wallet funded for exactly 28 requests
served 27. Integers compare and add exactly in SQL. The unit bounds an amount to
±``MAX_AMOUNT`` (about $922 million) on every database alike.

An amount that takes part in SQL arithmetic must be bound through the field too:
``F("held_usd") + money_value(amount)``, never a bare ``Decimal`` (SQLite would bind it
as text and add it as a float). With ``SQLITE_REFUSE_DECIMAL_PARAMS`` (the test suite
sets it) a bare ``Decimal`` bound to SQLite is an error instead.

The display rule has two forms, used everywhere (pages, admin, e-mail):

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

import sqlite3
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

from django.conf import settings
from django.core import validators
from django.db import models
from django.db.utils import DataError
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString

DIGITS = 20
PLACES = 10
QUANTUM = Decimal(1).scaleb(-PLACES)
ZERO = Decimal(0)
CENT = Decimal("0.01")
SIGNIFICANT = 3  # digits a per-request cost keeps below a cent
MAX_UNITS = 2**63 - 1  # SQLite's INTEGER
MAX_AMOUNT = Decimal(MAX_UNITS).scaleb(-PLACES)  # 922337203.6854775807 USD
# The largest amount anyone enters (a credit, a price, a budget, a code's value): far
# enough below MAX_AMOUNT that the balances and totals made of such amounts fit too.
LARGEST_AMOUNT = Decimal(100_000_000)
_WIDE = Context(prec=DIGITS + PLACES + 10)


def to_units(amount: Decimal) -> int:
    """``amount`` as a whole number of 10⁻¹⁰ USD, rounded half away from zero as
    PostgreSQL rounds a ``numeric(20, 10)``; ``DataError`` beyond ±``MAX_AMOUNT``."""
    try:
        units = int(amount.quantize(QUANTUM, rounding=ROUND_HALF_UP, context=_WIDE).scaleb(PLACES))
    except InvalidOperation:
        units = MAX_UNITS + 1
    if not -MAX_UNITS <= units <= MAX_UNITS:
        raise DataError(f"{amount} USD is beyond what a money column holds ({MAX_AMOUNT} USD)")
    return units


def from_units(units: int) -> Decimal:
    return Decimal(units).scaleb(-PLACES)


class MoneyField(models.DecimalField):
    """A ``DecimalField`` of ``DIGITS``/``PLACES`` whose SQLite column holds integer units.

    Its internal type is its own (``MoneyField``) so that Django's SQLite converter for
    decimals (which reads a REAL through a 15-digit float context) never touches it.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs["max_digits"], kwargs["decimal_places"] = DIGITS, PLACES
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        kwargs.pop("max_digits", None)
        kwargs.pop("decimal_places", None)
        return name, "ground.money.MoneyField", args, kwargs

    def get_internal_type(self) -> str:
        return "MoneyField"

    def db_type(self, connection) -> str:
        if connection.vendor == "sqlite":
            return "bigint"
        return connection.data_types["DecimalField"] % self.db_type_parameters(connection)

    def cast_db_type(self, connection) -> str:
        return self.db_type(connection)

    @cached_property
    def validators(self):
        return [
            *super().validators,
            validators.MinValueValidator(-LARGEST_AMOUNT),
            validators.MaxValueValidator(LARGEST_AMOUNT),
        ]

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        if value is None or hasattr(value, "as_sql"):
            return value
        amount = self.to_python(value)
        units = to_units(amount)  # the same bounds on every database
        return units if connection.vendor == "sqlite" else amount

    def from_db_value(self, value, expression, connection):
        if value is None or connection.vendor != "sqlite":
            return value
        if isinstance(value, int):
            return from_units(value)
        raise DataError(f"A money column of SQLite holds {value!r}, not integer units")


def money_field(**options) -> MoneyField:
    """The one way to declare a money column (see ``MoneyField``)."""
    return MoneyField(**options)


def money_value(amount: Decimal) -> models.Value:
    """``amount`` as an SQL parameter of a money expression: ``F("held_usd") + money_value(x)``."""
    return models.Value(amount, output_field=MoneyField())


def refuse_decimal_params(value: Decimal) -> str:
    """SQLite's adapter for ``Decimal`` (Django binds it as text, which SQLite turns into
    a float): with ``SQLITE_REFUSE_DECIMAL_PARAMS``, an error names the amount that
    skipped ``MoneyField``'s conversion."""
    if getattr(settings, "SQLITE_REFUSE_DECIMAL_PARAMS", False):
        raise TypeError(
            f"Decimal {value} bound to SQLite: money must go through MoneyField "
            "(money_value(amount) in expressions)"
        )
    return str(value)


def refuse_decimal_params_on(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: Django registers ``str`` for ``Decimal`` when its
    SQLite backend loads; this replaces it once a connection exists."""
    if connection.vendor == "sqlite":
        sqlite3.register_adapter(Decimal, refuse_decimal_params)


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
