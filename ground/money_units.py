"""The migration of money columns to ``MoneyField``: on SQLite, stored amounts become
integer units of 10⁻¹⁰ USD, exactly the amounts the application read before.

Before, SQLite kept a money column with NUMERIC affinity: a whole amount as INTEGER, any
other as REAL, read back through a 15-significant-digit context (Django's converter).
Each value becomes the whole number of units of that reading:

* an INTEGER ``n`` (whole dollars) is ``n × 10¹⁰`` units, in SQL;
* a REAL under $10,000 is ``round(x × 10¹⁰)``, in SQL: its decimal reading has at most
  15 digits, so the float is within 0.05 unit of a whole number of units (SQLite's text
  to float conversion and the multiplication each err by a few 10⁻¹⁶ relative);
* anything else (a REAL of $10,000 or more, text) is read in Python as Django read it.

An amount beyond ±``MAX_AMOUNT`` stops the migration with an error naming it.
PostgreSQL keeps ``numeric(20, 10)``: nothing to convert there.
"""

from __future__ import annotations

from decimal import Context, Decimal

from django.db import migrations

from ground.money import PLACES, to_units

SCALE = 10**PLACES
SQL_REAL_LIMIT = 10_000  # REALs below this are converted in SQL
SQL_INT_LIMIT = (2**63 - 1) // SCALE  # whole dollars that still fit once scaled
_FIFTEEN_DIGITS = Context(prec=15)


def stored_units(value: object) -> int:
    """The units of a value an old money column held (as Django read it back)."""
    if isinstance(value, float):
        return to_units(_FIFTEEN_DIGITS.create_decimal_from_float(value))
    return to_units(Decimal(str(value).strip()))


def convert_columns(connection, table: str, columns: list[str]) -> None:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for name in columns:
            column = qn(name)
            cursor.execute(
                f"SELECT rowid, {column} FROM {qn(table)} WHERE "
                f"(typeof({column}) = 'real' AND abs({column}) >= {SQL_REAL_LIMIT}) "
                f"OR (typeof({column}) = 'integer' AND abs({column}) > {SQL_INT_LIMIT}) "
                f"OR typeof({column}) NOT IN ('real', 'integer', 'null')"
            )
            by_python = [(stored_units(value), rowid) for rowid, value in cursor.fetchall()]
            cursor.execute(
                f"UPDATE {qn(table)} SET {column} = CASE typeof({column}) "
                f"WHEN 'integer' THEN {column} * {SCALE} "
                f"ELSE CAST(round({column} * {SCALE}) AS INTEGER) END "
                f"WHERE (typeof({column}) = 'integer' AND abs({column}) <= {SQL_INT_LIMIT}) "
                f"OR (typeof({column}) = 'real' AND abs({column}) < {SQL_REAL_LIMIT})"
            )
            cursor.executemany(f"UPDATE {qn(table)} SET {column} = %s WHERE rowid = %s", by_python)


def restore_columns(connection, table: str, columns: list[str]) -> None:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for name in columns:
            column = qn(name)
            cursor.execute(f"SELECT rowid, {column} FROM {qn(table)} WHERE {column} IS NOT NULL")
            rows = [(str(Decimal(units).scaleb(-PLACES)), rowid) for rowid, units in cursor]
            cursor.executemany(f"UPDATE {qn(table)} SET {column} = %s WHERE rowid = %s", rows)


def to_integer_units(app_label: str, model_name: str, *fields: str) -> migrations.RunPython:
    """A migration step, placed before the ``AlterField``s to ``MoneyField``: SQLite's
    stored amounts become integer units (and back, when the migration is reversed,
    after the columns are decimals again)."""

    def columns(apps) -> tuple[str, list[str]]:
        model = apps.get_model(app_label, model_name)
        return model._meta.db_table, [model._meta.get_field(f).column for f in fields]

    def forward(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "sqlite":
            convert_columns(schema_editor.connection, *columns(apps))

    def backward(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "sqlite":
            restore_columns(schema_editor.connection, *columns(apps))

    return migrations.RunPython(forward, backward, elidable=False)
