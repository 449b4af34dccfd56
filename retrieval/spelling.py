"""Spelling-tolerant lookup of query words the collection lacks, with bounded work.

A query word the collection does not contain (a typo, "Ghandi", or a form the stemmer
leaves apart from the text's, "septicemia" / "septicemic") is looked up in the
collection's vocabulary (``Term``): the closest terms that start with the same letter,
within 1 edit (5-letter terms) or 2 edits (longer ones; edits: insert, delete, replace,
swap two neighbours — the optimal string alignment distance), at most
``MAX_CANDIDATES`` of them. A 4-letter term (``SHORT_LENGTH``: an Arabic stem is often
that short) is respelled only when the edit is unambiguous: exactly one vocabulary term
within 1 edit (قرات → قراء, were there no other); shorter ones never.

The work one query may cause is bounded, whatever the query holds:

* at most ``MAX_RESPELLED_TERMS`` absent words are looked up (the first, in query order);
* the vocabulary is read once per first letter, only terms whose length is within the
  edit limit, at most ``MAX_VOCABULARY_ROWS`` rows per query;
* the distances are computed by rapidfuzz (C++), not in Python;
* the lookup stops at ``SPELLING_SECONDS`` (what was found by then is used);
* a ``QueryBudget`` that is cancelled (the client went away) stops the query at its
  next checkpoint with ``QueryCancelled``.
"""

from __future__ import annotations

import threading
import time

from django.db import connection
from django.db.models.functions import Length
from rapidfuzz import process
from rapidfuzz.distance import OSA

from retrieval.models import Term

MIN_LENGTH = 5  # shorter words are too easily another word...
SHORT_LENGTH = 4  # ...unless exactly one vocabulary term is 1 edit away
MAX_CANDIDATES = 3
MAX_RESPELLED_TERMS = 8
MAX_VOCABULARY_ROWS = 200_000
SPELLING_SECONDS = 0.5


class QueryCancelled(Exception):
    """The query was given up (its client went away)."""


class QueryBudget:
    """What one query may still do, and whether it was cancelled. Shared between the
    event loop (which cancels it) and the thread that runs the query."""

    def __init__(self, *, spelling_seconds: float = SPELLING_SECONDS) -> None:
        self.cancelled = threading.Event()
        self.spelling_seconds = spelling_seconds
        self.respelled = 0  # absent words looked up
        self.vocabulary_rows = 0  # vocabulary rows read

    def cancel(self) -> None:
        self.cancelled.set()

    def check(self) -> None:
        """A checkpoint: raise ``QueryCancelled`` once the query was cancelled."""
        if self.cancelled.is_set():
            raise QueryCancelled


def max_edits(term: str) -> int:
    if len(term) < SHORT_LENGTH or term.isdigit():
        return 0
    return 1 if len(term) <= MIN_LENGTH else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (insert, delete, replace, swap neighbours), or
    ``limit + 1`` when it exceeds ``limit``."""
    return OSA.distance(a, b, score_cutoff=limit)


def _vocabulary(collection_id: int, letter: str, shortest: int, longest: int, rows: int):
    terms = Term.objects.filter(collection_id=collection_id)
    if connection.vendor == "sqlite":  # binary order: an index range
        terms = terms.filter(term__gte=letter, term__lt=chr(ord(letter) + 1))
    else:  # a linguistic collation may not order by code point: LIKE 'x%' is exact
        terms = terms.filter(term__startswith=letter)
    terms = terms.alias(length=Length("term")).filter(length__gte=shortest, length__lte=longest)
    return list(terms.order_by("term").values_list("term", flat=True)[:rows])


def spelling_relatives(
    collection_id: int, absent: list[str], budget: QueryBudget
) -> dict[str, list[str]]:
    """For each absent query term (in query order), its closest vocabulary terms."""
    wanted = [term for term in absent if max_edits(term)][:MAX_RESPELLED_TERMS]
    by_letter: dict[str, list[str]] = {}
    for term in wanted:
        by_letter.setdefault(term[0], []).append(term)
    deadline = time.monotonic() + budget.spelling_seconds
    out: dict[str, list[str]] = {}
    for letter, group in by_letter.items():
        budget.check()
        rows = MAX_VOCABULARY_ROWS - budget.vocabulary_rows
        if rows <= 0 or time.monotonic() > deadline:
            break
        shortest = min(len(t) - max_edits(t) for t in group)
        longest = max(len(t) + max_edits(t) for t in group)
        vocabulary = _vocabulary(collection_id, letter, shortest, longest, rows)
        budget.vocabulary_rows += len(vocabulary)
        for term in group:
            budget.check()
            if time.monotonic() > deadline:
                break
            budget.respelled += 1
            limit = max_edits(term)
            scored = [
                (distance, candidate)
                for candidate, distance, _ in process.extract(
                    term, vocabulary, scorer=OSA.distance, score_cutoff=limit, limit=None
                )
                if candidate != term
            ]
            if len(term) < MIN_LENGTH and len(scored) != 1:
                continue  # a short word with several neighbours: which one is a guess
            if scored:
                best = min(d for d, _ in scored)
                out[term] = sorted(c for d, c in scored if d == best)[:MAX_CANDIDATES]
    return out
