"""OCR quality metrics.

Public API::

    cer(reference: str, hypothesis: str) -> float
    levenshtein(a: str, b: str) -> int
    normalize_for_cer(text: str) -> str
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

_WS_RE = re.compile(r"\s+")


def normalize_for_cer(text: str) -> str:
    """NFKC (Arabic presentation forms -> base letters), drop tatweel, collapse spaces."""
    text = unicodedata.normalize("NFKC", text).replace("\u0640", "")
    return _WS_RE.sub(" ", text).strip()


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert/delete/substitute, unit costs).

    Row-by-row dynamic programming vectorised with numpy: O(len(a) * len(b)) work but
    only O(len(a)) Python-level iterations, so 5k x 5k characters take well under a
    second. The insertion recurrence ``cur[j] = min(cur[j], cur[j-1] + 1)`` is solved
    per row with a running minimum: ``cur[j] = min_k (tmp[k] + j - k)``.
    """
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    codes_b = np.fromiter((ord(c) for c in b), dtype=np.int64, count=len(b))
    offsets = np.arange(len(b) + 1, dtype=np.int64)
    prev = offsets.copy()
    for i, ch in enumerate(a, start=1):
        tmp = np.empty_like(prev)
        tmp[0] = i
        # substitution (or match) from the diagonal, deletion from above
        np.minimum(prev[:-1] + (codes_b != ord(ch)), prev[1:] + 1, out=tmp[1:])
        # insertions: running minimum of tmp[k] - k, shifted back by +j
        prev = np.minimum.accumulate(tmp - offsets) + offsets
    return int(prev[-1])


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: ``levenshtein(ref, hyp) / len(ref)`` after normalisation.

    Both strings go through :func:`normalize_for_cer` (whitespace runs -> one space,
    stripped; NFKC; tatweel removed). An empty reference gives 0.0 for an empty
    hypothesis and 1.0 otherwise.
    """
    ref = normalize_for_cer(reference)
    hyp = normalize_for_cer(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return levenshtein(ref, hyp) / len(ref)
