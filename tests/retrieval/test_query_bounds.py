"""The work one query may cause is bounded by work limits (terms, respelled words,
vocabulary rows), runs on the retrieval threads, and stops when its client goes away."""

from __future__ import annotations

import asyncio
import itertools
import random
import string
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from retrieval import collections, ingest, querying, search, spelling
from retrieval.offload import offload
from retrieval.spelling import QueryBudget, QueryCancelled
from tests.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def made_up(rng: random.Random, first: str, length: int) -> str:
    return first + "".join(rng.choice(string.ascii_lowercase) for _ in range(length - 1))


def vocabulary_reads(queries) -> int:
    return sum("retrieval_term" in q["sql"] for q in queries)


def test_a_query_of_hundreds_of_made_up_words_reads_the_vocabulary_once(alice):
    rng = random.Random(5)
    words = sorted({made_up(rng, "s", rng.randint(5, 9)) for _ in range(3000)})
    cid = collections.create_collection(alice).collection_id
    ingest.ingest_pages(alice, cid, "Words", None, [" ".join(words)])
    hostile = []
    while len(hostile) < 490:
        word = made_up(rng, "s", 7)
        if word not in words and word not in hostile:
            hostile.append(word)
    budget = QueryBudget()
    with CaptureQueriesContext(connection) as queries:
        answer = querying.query(alice, cid, " ".join(hostile), budget=budget)
    assert answer["context"] is not None
    # One read of the vocabulary (every word starts with s), only the first few words
    # looked up, and only terms whose length is within reach.
    assert vocabulary_reads(queries) == 1
    assert budget.respelled == spelling.MAX_RESPELLED_TERMS
    assert 0 < budget.vocabulary_rows < len(words)


def test_a_misspelling_is_still_found_among_many_made_up_words(alice):
    cid = collections.create_collection(alice).collection_id
    ingest.ingest_pages(alice, cid, "Notes", None, ["Gandhi led the salt march.", "Ships."])
    rng = random.Random(1)
    noise = " ".join(made_up(rng, "q", 7) for _ in range(200))
    hit = querying.query(alice, cid, f"Ghandi {noise}")["context"][0]
    assert (hit["page_start"], hit["is_direct_hit"]) == (1, False)


def test_a_query_is_ranked_on_its_first_distinct_terms_only(alice):
    cid = collections.create_collection(alice).collection_id
    ingest.ingest_pages(alice, cid, "Notes", None, ["zebra crossing", "lighthouse keeper"])
    filler = [f"word{n}" for n in range(search.MAX_QUERY_TERMS)]
    assert querying.query(alice, cid, " ".join(["lighthouse", *filler]))["context"]
    assert not querying.query(alice, cid, " ".join([*filler, "lighthouse"]))["context"]


def test_a_cancelled_query_stops_before_reading_anything(alice):
    cid = collections.create_collection(alice).collection_id
    ingest.ingest_pages(alice, cid, "Notes", None, ["Gandhi led the salt march."])
    budget = QueryBudget()
    budget.cancel()
    with CaptureQueriesContext(connection) as queries, pytest.raises(QueryCancelled):
        querying.query(alice, cid, "Ghandi march", budget=budget)
    assert not any("retrieval_posting" in q["sql"] for q in queries)
    assert vocabulary_reads(queries) == 0


def test_the_spelling_lookup_stops_where_the_query_is_cancelled(alice):
    cid = collections.create_collection(alice).collection_id
    ingest.ingest_pages(alice, cid, "Notes", None, ["salt march sandals spinning"])
    collection = collections.get_collection(alice, cid)

    class CancelAfterFirstWord(QueryBudget):
        def check(self) -> None:
            if self.respelled:
                self.cancel()
            super().check()

    budget = CancelAfterFirstWord()
    with pytest.raises(QueryCancelled):
        spelling.spelling_relatives(collection.pk, ["saltt", "marchh", "sandalls"], budget)
    assert budget.respelled == 1


def test_offloaded_work_runs_on_the_retrieval_threads_and_is_cancelled_with_its_caller():
    seen: dict = {}
    started = threading.Event()

    def work(budget: QueryBudget) -> None:
        seen["thread"] = threading.current_thread().name
        started.set()
        seen["cancelled"] = budget.cancelled.wait(timeout=30)

    async def caller() -> None:
        budget = QueryBudget()
        task = asyncio.ensure_future(offload(work, budget=budget))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(caller())
    wait_for(lambda: "cancelled" in seen, timeout=30, what="the offloaded work to end")
    assert seen["thread"].startswith("retrieval")
    assert seen["cancelled"] is True


def test_a_query_asks_for_the_second_terms_of_its_kept_words_only():
    letters = "تثجحخدذرزسشصضطظعغفق"  # no ب: a bare prefix gives a term of its own
    words = [f"{a}{b}{c}ها" for a, b, c in itertools.product(letters, repeat=3)][:300]
    sequence, second = search.query_terms_of(" ".join(words))
    assert len(set(sequence)) == search.MAX_QUERY_TERMS
    assert len(second) == search.MAX_QUERY_TERMS  # each word's exact form, the first 64
    assert second == {f"={w}": search.EXACT_WEIGHT for w in words[: search.MAX_QUERY_TERMS]}
