"""Query words the collection lacks stand in for their closest vocabulary terms."""

from __future__ import annotations

import pytest

from retrieval import collections, ingest, querying
from retrieval.models import Term
from retrieval.spelling import edit_distance, max_edits

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("gandhi", "gandhi", 0),
        ("gandi", "gandhi", 1),  # a letter missing
        ("gnadhi", "gandhi", 1),  # neighbours swapped
        ("ghandi", "gandhi", 2),
        ("septicemia", "septicem", 2),
        ("kitten", "sitting", 3),
    ],
)
def test_edit_distance_counts_swaps_as_one_edit(a, b, distance):
    assert edit_distance(a, b, limit=3) == distance
    assert edit_distance(a, b, limit=1) == min(distance, 2)  # stops past the limit


def test_very_short_words_and_numbers_are_never_respelled():
    assert (
        max_edits("kin"),
        max_edits("king"),
        max_edits("12345"),
        max_edits("ships"),
        max_edits("ghandi"),
    ) == (0, 1, 0, 1, 2)


def test_a_misspelled_word_finds_the_page_but_is_not_a_direct_hit(alice):
    cid = collections.create_collection(alice).collection_id
    ingest.ingest_pages(
        alice,
        cid,
        "Notes",
        None,
        ["Gandhi led the salt march in 1930.", "The harbour had a lighthouse."],
    )
    assert Term.objects.filter(term="gandhi").exists()
    hit = querying.query(alice, cid, "Ghandi march")["context"][0]
    assert (hit["page_start"], hit["is_direct_hit"]) == (1, False)
    exact = querying.query(alice, cid, "Gandhi march")["context"][0]
    assert exact["is_direct_hit"] is True and exact["score"] > hit["score"]
    assert querying.query(alice, cid, "Ghandi")["context"][0]["page_start"] == 1


def test_a_deleted_collection_takes_its_vocabulary_along(alice):
    cid = collections.create_collection(alice).collection_id
    ingest.ingest_pages(alice, cid, "Notes", None, ["Gandhi led the salt march."])
    assert Term.objects.exists()
    collections.delete_collection(alice, cid)
    assert not Term.objects.exists()
