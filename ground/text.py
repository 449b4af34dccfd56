"""Text from strangers made safe for databases, logs and JSON.

PostgreSQL refuses NUL in text, JSON encoders refuse lone surrogates, and an unbounded
string from a request can fill a column or a log. ``clean_text`` is the one helper every
value from a request goes through before it reaches a query, a record or an event.
"""

from __future__ import annotations

import re

# NUL and the other C0 controls except tab, newline and carriage return; DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: object, max_length: int | None = None) -> str:
    """``value`` as a string without NUL/control characters or lone surrogates, cut to
    ``max_length`` characters."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates ("\ud800") from JSON escapes
        text = text.encode("utf-8", "replace").decode("utf-8")
    if max_length is not None and len(text) > max_length:
        text = text[:max_length]
    return text


def strict_int(value: object, *, default: int | None = None) -> int | None:
    """An integer written with ASCII digits (optionally signed), else ``default``.

    ``str.isdigit()`` accepts "²" and "٣", which ``int()`` then refuses or reads in
    surprising ways; parameters from a request go through here instead.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return default
    text = value.strip()
    body = text[1:] if text[:1] in "+-" else text
    if not body or len(body) > 18 or not body.isascii() or not body.isdigit():
        return default
    return int(text)
