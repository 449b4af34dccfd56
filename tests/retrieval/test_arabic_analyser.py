"""The Arabic analyser: stems that do not collide with other words, a bare ب / ل / ك
prefix, joined question words, short typos, and documents of an older analyser."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from retrieval import collections, ingest, querying
from retrieval.models import Chunk, Collection, Document, Posting
from retrieval.text import (
    ANALYSER_VERSION,
    bare_prefix_stem,
    index_terms,
    normalize,
    stem_arabic,
    terms,
)

# Words the light stemmer used to cut into another word (or into too little of one).
COLLISIONS = [
    ("سليمان", "سليم"),
    ("حاكم", "حا"),
    ("لبنان", "لبن"),
    ("القرآن", "قر"),
    ("سكان", "سك"),
]


@pytest.mark.parametrize(("word", "other"), COLLISIONS[1:])
def test_a_stem_no_longer_falls_on_another_word(word, other):
    assert len(stem_arabic(normalize(word))) >= 3
    assert terms(word) != terms(other)


def test_a_stem_that_is_another_word_is_told_apart_by_the_exact_form():
    # سليمان (a name) and سليم (another) share the stem سليم: light stemming cannot tell
    # a name's ان from the dual's (معلمان → معلم) without a lexicon.
    assert terms("سليمان") == terms("سليم")
    assert index_terms("سليمان")[0] != index_terms("سليم")[0]


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("حاكم", "حاكم"),
        ("سكان", "سكان"),
        ("السكان", "سكان"),
        ("القرآن", "قران"),
        ("لبنان", "لبنان"),
    ],
)
def test_words_keep_their_letters(word, stem):
    assert terms(word) == [stem]


def test_light_stemming_still_joins_inflections():
    assert terms("المكتبات") == terms("مكتبات") == terms("مكتب")
    assert terms("كتابها") == terms("الكتاب") == ["كتاب"]
    assert terms("المعلمون") == terms("معلم")


def test_a_word_the_stemmer_cut_keeps_its_exact_form_as_a_second_term():
    counts, length = index_terms("سليمان")
    assert counts == {"سليم": 1, "=سليمان": 1} and length == 1
    assert index_terms("سليم") == ({"سليم": 1}, 1)
    assert index_terms("السكان") == ({"سكان": 1}, 1)  # nothing cut but the article


def test_a_bare_prefix_gives_a_second_term_beside_the_words_own_stem():
    assert bare_prefix_stem(normalize("لسكان")) == "سكان"
    assert bare_prefix_stem(normalize("بالسكان")) == ""  # the article's own prefix
    assert bare_prefix_stem(normalize("لبن")) == ""  # too short to tell
    counts, length = index_terms("لسكان")
    assert counts["سكان"] == 1 and length == 1
    counts, _ = index_terms("برنامج")  # the ب is the word's own: its stem stays
    assert terms("برنامج") == ["برنامج"] and counts["برنامج"] == 1


@pytest.mark.parametrize(
    "question",
    [
        "ماهي عاصمة لبنان",
        "ماهو عاصمة لبنان",
        "بما عاصمة لبنان",
        "لما عاصمة لبنان",
        "ما هي عاصمة لبنان",
    ],
)
def test_joined_question_words_are_stop_words(question):
    assert terms(question) == terms("عاصمة لبنان")


def test_informal_arabic_gives_the_same_index_terms_as_formal_arabic():
    formal = "سُلَيْمانُ القانونيُّ حاكِمُ الدَّوْلَةِ العُثْمانِيَّةِ لِسُكّانِ المُدُنِ الكُبْرى"
    informal = "سليمان القانوني حاكم الدوله العثمانيه لسكان المدن الكبري"
    assert index_terms(formal) == index_terms(informal)


pytestmark_db = pytest.mark.django_db(transaction=True)


def _collection(user, pages: list[str]) -> str:
    cid = collections.create_collection(user).collection_id
    ingest.ingest_pages(user, cid, "صفحات", None, pages)
    return cid


def _first_page(user, cid: str, question: str) -> int | None:
    context = querying.query(user, cid, question)["context"]
    return context[0]["page_start"] if context else None


FILLER = "وقد ذكر المؤرخون ذلك في كتبهم عن تاريخ المنطقة"


@pytestmark_db
@pytest.mark.parametrize(("word", "other"), [c for c in COLLISIONS if len(c[1]) >= 3])
def test_a_word_finds_its_own_page_before_the_word_its_stem_fell_on(alice, word, other):
    cid = _collection(alice, [f"{other} {FILLER}", f"{word} {FILLER}"])
    assert _first_page(alice, cid, word) == 2
    assert _first_page(alice, cid, other) == 1


@pytestmark_db
def test_collided_words_no_longer_find_each_others_pages(alice):
    cid = _collection(alice, ["حاكم المدينة", "القرآن الكريم", "سكان المدينة"])
    for short in ("حا", "قر", "سك"):
        assert querying.query(alice, cid, short)["context"] == []


@pytestmark_db
def test_a_bare_prefix_finds_the_word_with_the_article(alice):
    cid = _collection(alice, ["عدد السكان في المدينة كبير", "النهر طويل"])
    assert _first_page(alice, cid, "لسكان") == 1
    assert _first_page(alice, cid, "كم عدد سكان المدينة") == 1


@pytestmark_db
def test_a_short_typo_is_respelled_only_when_one_word_is_one_edit_away(alice):
    cid = _collection(alice, ["جبال عالية في الشمال", "النهر طويل"])
    hit = querying.query(alice, cid, "جبان")["context"][0]
    assert (hit["page_start"], hit["is_direct_hit"]) == (1, False)
    cid = _collection(alice, ["جبال عالية في الشمال", "رجل جبار"])
    assert querying.query(alice, cid, "جبان")["context"] == []  # جبال or جبار: a guess


# --- Documents indexed by an older analyser ------------------------------------------------
def _postings(document: Document) -> set[tuple[str, int, int]]:
    return set(
        Posting.objects.filter(document_id=document.pk).values_list("term", "tf", "chunk_length")
    )


def _as_written_by_the_old_analyser(document: Document) -> None:
    """What analyser 1 wrote for these pages: سكان cut to سك, no exact forms, version 1."""
    Posting.objects.filter(document_id=document.pk, term="سكان").update(term="سك")
    Posting.objects.filter(document_id=document.pk, term__startswith="=").delete()
    Document.objects.filter(pk=document.pk).update(analyser_version=1)


@pytestmark_db
def test_new_documents_record_todays_analyser(alice):
    cid = _collection(alice, ["سكان المدينة"])
    assert Document.objects.get(collection__collection_id=cid).analyser_version == ANALYSER_VERSION


@pytestmark_db
def test_documents_of_an_older_analyser_are_rewritten_by_the_command(alice):
    pages = ["عدد سكان المدينة كبير", "سليمان القانوني حكم طويلا", "النهر طويل"]
    cid = _collection(alice, pages)
    document = Document.objects.get(collection__collection_id=cid)
    fresh = _postings(document)
    collection = Collection.objects.get(collection_id=cid)
    stats = (collection.chunk_count, collection.total_length)
    _as_written_by_the_old_analyser(document)
    assert querying.query(alice, cid, "سكان")["context"] == []  # stale terms miss it

    out = io.StringIO()
    call_command("reanalyse_documents", "--check", stdout=out)
    assert out.getvalue().strip() == "1 document(s) indexed by an older analyser"
    out = io.StringIO()
    call_command("reanalyse_documents", stdout=out)
    assert f"[1/1] {document.doc_id}" in out.getvalue()
    assert "1 document(s) re-analysed, 0 left" in out.getvalue()

    document.refresh_from_db()
    assert document.analyser_version == ANALYSER_VERSION
    assert document.status == Document.Status.READY
    assert _postings(document) == fresh
    collection.refresh_from_db()
    assert (collection.chunk_count, collection.total_length) == stats
    assert stats[1] == sum(Chunk.objects.filter(document=document).values_list("length", flat=True))
    assert _first_page(alice, cid, "سكان") == 1
    call_command("reanalyse_documents", "--check", stdout=(out := io.StringIO()))
    assert out.getvalue().strip() == "0 document(s) indexed by an older analyser"


@pytestmark_db
def test_documents_not_ready_are_left_to_their_own_indexing(alice):
    cid = _collection(alice, ["سكان المدينة"])
    document = Document.objects.get(collection__collection_id=cid)
    _as_written_by_the_old_analyser(document)
    Document.objects.filter(pk=document.pk).update(status=Document.Status.QUEUED)
    call_command("reanalyse_documents", stdout=io.StringIO())
    document.refresh_from_db()
    assert document.analyser_version == 1  # its indexing task writes today's terms


@pytestmark_db
def test_the_command_refuses_a_limit_below_one():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="at least 1"):
        call_command("reanalyse_documents", "--limit", "0")
