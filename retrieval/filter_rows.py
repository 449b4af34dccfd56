"""The Retrieval page's attribute filter: ``key op value`` rows of the search form made
into the API's ``filters`` (checked by ``retrieval.filters.parse_filters``, the same
parser and errors as ``/v1/alRetrieval/…/query`` and vector-store search), and a
document's attributes as the page shows them.

A form sends text only, so a row's value is read the way a person means it: ``2024`` is
the number 2024 *or* the text "2024" (an attribute set through the API may be either),
``true``/``false`` the boolean or the text; ``gt``/``gte``/``lt``/``lte`` compare numbers
with a number and text with text. Only ASCII digits make a number: other scripts' digits
(``٢٠٢٤``) stay text, as an attribute holding them does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from retrieval.attributes import MAX_PAIRS, check_plain_text
from retrieval.errors import RetrievalError
from retrieval.filters import parse_filters

# (op, label) in the order the form offers them.
OPERATORS = (
    ("eq", "="),
    ("ne", "≠"),
    ("gt", ">"),
    ("gte", "≥"),
    ("lt", "<"),
    ("lte", "≤"),
)
LABELS = dict(OPERATORS)
MAX_ROWS = MAX_PAIRS
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,15})?", re.ASCII)


def _refuse(why: str, param: str = "filters") -> RetrievalError:
    return RetrievalError(400, why, "invalid_filter", param)


def rows_from(form: Mapping) -> list[dict]:
    """The rows as sent (``attr_key``, ``attr_op``, ``attr_value``, one each per row),
    blank ones dropped: what the form shows again, and what ``filters_from`` reads."""
    keys, ops, values = (form.getlist(name) for name in ("attr_key", "attr_op", "attr_value"))
    if not len(keys) == len(ops) == len(values):
        raise _refuse("Each filter row has a key, a comparison and a value.")
    rows = [
        {"key": key.strip(), "op": op, "value": value.strip()}
        for key, op, value in zip(keys, ops, values, strict=True)
        if key.strip() or value.strip()
    ]
    if len(rows) > MAX_ROWS:
        raise _refuse(f"At most {MAX_ROWS} attribute filters ({len(rows)} given).")
    return rows


def _readings(value: str) -> list[object]:
    """What a typed value may mean: the text, and the number or boolean it spells."""
    if _NUMBER.fullmatch(value):
        number = float(value)
        return [value, int(number) if number.is_integer() and "." not in value else number]
    if value in ("true", "false"):
        return [value, value == "true"]
    return [value]


def row_filter(row: dict, number: int) -> dict:
    """One row as an API filter, checked (a 400 naming the row)."""
    where = f"filter {number}"
    if not row["key"]:
        raise _refuse(f"Filter {number} needs an attribute name.", where)
    if row["op"] not in LABELS:
        raise _refuse(f"Filter {number}: choose one of the comparisons offered.", where)
    check_plain_text(row["key"], f"{where} key")
    check_plain_text(row["value"], f"{where} value")
    op, readings = row["op"], _readings(row["value"])
    if op in ("gt", "gte", "lt", "lte") and len(readings) > 1:
        readings = readings[1:]  # ordered: the number (a boolean orders nothing)
    comparisons = [{"type": op, "key": row["key"], "value": value} for value in readings]
    if len(comparisons) == 1:
        checked = comparisons[0]
    else:
        # "= 2024" matches either reading; "≠ 2024" neither.
        checked = {"type": "and" if op == "ne" else "or", "filters": comparisons}
    return parse_filters(checked, param=where)


def filters_from(form: Mapping) -> dict | None:
    """The search's ``filters`` (all rows must hold), or ``None`` without rows."""
    checked = [row_filter(row, n) for n, row in enumerate(rows_from(form), start=1)]
    if not checked:
        return None
    return checked[0] if len(checked) == 1 else {"type": "and", "filters": checked}


def describe(rows: list[dict]) -> str:
    """The rows as the results say them: ``year ≥ 2020, lang = ar``."""
    return ", ".join(f"{r['key']} {LABELS.get(r['op'], r['op'])} {r['value']}" for r in rows)


def attribute_chips(attributes: dict | None) -> list[tuple[str, str]]:
    """A document's attributes as ``(key, value)`` texts, keys in order."""
    chips = []
    for key, value in sorted((attributes or {}).items()):
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        chips.append((key, text))
    return chips
