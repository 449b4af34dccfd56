"""Attribute filters (OpenAI's ``ComparisonFilter`` / ``CompoundFilter``) for vector-store
search and the alRetrieval query.

A comparison ``{"type": eq|ne|gt|gte|lt|lte|in|nin, "key", "value"}`` tests one
attribute of a file; a compound ``{"type": and|or, "filters": [...]}`` groups them, at
most ``MAX_DEPTH`` levels deep and ``MAX_NODES`` filters in all. ``parse_filters``
checks the shape once (a 400 naming the place of the mistake); ``matches`` evaluates a
checked filter against a file's attributes. A comparison on an attribute the file does
not have is false (``ne`` and ``nin`` too); ``gt``/``gte``/``lt``/``lte`` compare numbers
with numbers and strings with strings, anything else is false.
"""

from __future__ import annotations

import math

from retrieval.attributes import MAX_KEY_CHARS, MAX_VALUE_CHARS, check_plain_text
from retrieval.errors import RetrievalError

COMPARISONS = {"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"}
COMPOUNDS = {"and", "or"}
MAX_DEPTH = 5
MAX_NODES = 100
MAX_LIST = 100


def _refuse(param: str, why: str) -> RetrievalError:
    return RetrievalError(400, f"Invalid '{param}': {why}.", "invalid_filter", param)


def _scalar(value: object, param: str) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise _refuse(param, "a finite number")
        return value
    if isinstance(value, str):
        if len(value) > MAX_VALUE_CHARS:
            raise _refuse(param, f"at most {MAX_VALUE_CHARS} characters")
        return check_plain_text(value, param)
    raise _refuse(param, "a string, a number or a boolean")


def parse_filters(obj: object, param: str = "filters") -> dict:
    """The checked filter (a plain dict of the same shape), or a 400."""
    count = [0]

    def walk(node: object, where: str, depth: int) -> dict:
        count[0] += 1
        if count[0] > MAX_NODES:
            raise _refuse(param, f"at most {MAX_NODES} filters in all")
        if depth > MAX_DEPTH:
            raise _refuse(where, f"filters nest at most {MAX_DEPTH} levels deep")
        if not isinstance(node, dict):
            raise _refuse(where, "a filter object")
        kind = node.get("type")
        if kind in COMPOUNDS:
            extra = set(node) - {"type", "filters"}
            children = node.get("filters")
            if extra:
                raise _refuse(where, f"unknown field {sorted(extra)[0]!r}")
            if not isinstance(children, list) or not children:
                raise _refuse(f"{where}.filters", "a non-empty list of filters")
            return {
                "type": kind,
                "filters": [
                    walk(child, f"{where}.filters[{i}]", depth + 1)
                    for i, child in enumerate(children)
                ],
            }
        if kind not in COMPARISONS:
            raise _refuse(f"{where}.type", f"unknown filter type {str(kind)[:20]!r}")
        extra = set(node) - {"type", "key", "value"}
        if extra:
            raise _refuse(where, f"unknown field {sorted(extra)[0]!r}")
        key = node.get("key")
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
            raise _refuse(f"{where}.key", f"1 to {MAX_KEY_CHARS} characters")
        check_plain_text(key, f"{where}.key")
        if "value" not in node:
            raise _refuse(f"{where}.value", "missing")
        value = node["value"]
        if kind in ("in", "nin"):
            if not isinstance(value, list) or len(value) > MAX_LIST:
                raise _refuse(f"{where}.value", f"a list of at most {MAX_LIST} values")
            value = [_scalar(v, f"{where}.value[{i}]") for i, v in enumerate(value)]
        else:
            value = _scalar(value, f"{where}.value")
        return {"type": kind, "key": key, "value": value}

    return walk(obj, param, 1)


def _same(a: object, b: object) -> bool:
    # True is not 1 here: a boolean equals only a boolean.
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _ordered(a: object, b: object) -> bool:
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    return (isinstance(a, numbers) and isinstance(b, numbers)) or (
        isinstance(a, str) and isinstance(b, str)
    )


def matches(checked: dict, attributes: dict) -> bool:
    kind = checked["type"]
    if kind == "and":
        return all(matches(child, attributes) for child in checked["filters"])
    if kind == "or":
        return any(matches(child, attributes) for child in checked["filters"])
    if checked["key"] not in attributes:
        return False
    have, want = attributes[checked["key"]], checked["value"]
    if kind == "eq":
        return _same(have, want)
    if kind == "ne":
        return not _same(have, want)
    if kind == "in":
        return any(_same(have, w) for w in want)
    if kind == "nin":
        return not any(_same(have, w) for w in want)
    if not _ordered(have, want):
        return False
    return {
        "gt": have > want,
        "gte": have >= want,
        "lt": have < want,
        "lte": have <= want,
    }[kind]
