"""What a caller may attach to a vector store and its files (OpenAI's limits), and the
text it may send as a name or a query.

``attributes`` (a vector-store file): at most 16 keys of at most 64 characters; values
are strings of at most 512 characters, numbers or booleans. ``metadata`` (a vector
store): at most 16 pairs, keys of at most 64 characters, string values of at most 512.
Names and queries refuse NUL and other control characters and the bidi embedding and
override controls (U+202A–U+202E, U+2066–U+2069), which make a name display as
something else; the marks U+200E/U+200F/U+061C, which Arabic text uses, are fine.
"""

from __future__ import annotations

import math
import re

from retrieval.errors import RetrievalError

MAX_PAIRS = 16
MAX_KEY_CHARS = 64
MAX_VALUE_CHARS = 512
_REFUSED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def check_plain_text(value: str, param: str) -> str:
    """``value`` as sent, or a 400 naming ``param`` when it holds a refused character."""
    found = _REFUSED.search(value)
    if found:
        raise RetrievalError(
            400,
            f"Invalid '{param}': it contains the control character U+{ord(found.group()):04X}.",
            "invalid_parameter",
            param,
        )
    return value


def _check_key(key: object, param: str) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
        raise RetrievalError(
            400,
            f"Invalid '{param}': keys are 1 to {MAX_KEY_CHARS} characters.",
            "invalid_parameter",
            param,
        )
    return check_plain_text(key, param)


def _check_string(value: str, param: str) -> str:
    if len(value) > MAX_VALUE_CHARS:
        raise RetrievalError(
            400,
            f"Invalid '{param}': string values are at most {MAX_VALUE_CHARS} characters.",
            "invalid_parameter",
            param,
        )
    return check_plain_text(value, param)


def _check_pairs(value: object, param: str) -> dict:
    if not isinstance(value, dict):
        raise RetrievalError(400, f"Invalid '{param}': an object.", "invalid_parameter", param)
    if len(value) > MAX_PAIRS:
        raise RetrievalError(
            400,
            f"Invalid '{param}': at most {MAX_PAIRS} keys ({len(value)} given).",
            "invalid_parameter",
            param,
        )
    for key in value:
        _check_key(key, f"{param}.{key}"[: len(param) + 1 + MAX_KEY_CHARS])
    return value


def check_attributes(value: object, param: str = "attributes") -> dict:
    """A vector-store file's ``attributes`` (``None`` is ``{}``)."""
    if value is None:
        return {}
    pairs = _check_pairs(value, param)
    for key, item in pairs.items():
        where = f"{param}.{key}"
        if isinstance(item, str):
            _check_string(item, where)
        elif isinstance(item, bool):
            pass
        elif isinstance(item, int | float):
            if isinstance(item, float) and not math.isfinite(item):
                raise RetrievalError(400, f"Invalid '{where}'.", "invalid_parameter", where)
        else:
            raise RetrievalError(
                400,
                f"Invalid '{where}': a string, a number or a boolean.",
                "invalid_parameter",
                where,
            )
    return pairs


def check_metadata(value: object, param: str = "metadata") -> dict:
    """A vector store's ``metadata`` (``None`` is ``{}``): string values only."""
    if value is None:
        return {}
    pairs = _check_pairs(value, param)
    for key, item in pairs.items():
        where = f"{param}.{key}"
        if not isinstance(item, str):
            raise RetrievalError(
                400, f"Invalid '{where}': metadata values are strings.", "invalid_parameter", where
            )
        _check_string(item, where)
    return pairs
