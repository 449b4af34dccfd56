from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.core.files.storage import default_storage

from ground.bodies import validate
from ground.errors import ApiError
from retrieval import collections, documents, ingest, querying
from retrieval.errors import RetrievalError
from retrieval.models import Chunk, Collection, Document, Page, Posting
from retrieval.schemas import RetrievalQuery
from retrieval.text import index_terms, terms
from tests.retrieval.conftest import make_docx, make_pptx

# Indexing is queued with delay_on_commit, so the tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


def refused(status: int, call, *args, **kwargs) -> RetrievalError:
    with pytest.raises(RetrievalError) as caught:
        call(*args, **kwargs)
    assert caught.value.status == status, caught.value
    return caught.value


def ingest_text(user, collection, name: str, text: str) -> Document:
    return ingest.ingest_file(user, collection.collection_id, name, "text/plain", text.encode())


# --- Collections ---------------------------------------------------------------------------
def test_collections_have_hex_ids_and_list_newest_first(alice, bob):
    first = collections.create_collection(alice, "first")
    second = collections.create_collection(alice)
    collections.create_collection(bob, "bob's")
    assert re.fullmatch(r"[0-9a-f]{32}", first.collection_id)
    listed = collections.list_collections(alice)["collections"]
    assert [c["collection_id"] for c in listed] == [second.collection_id, first.collection_id]
    assert listed[1]["name"] == "first"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", listed[0]["created_at"])


def test_dense_retrieval_is_reported_off_without_an_embedding_model(alice, settings):
    settings.RETRIEVAL_EMBEDDING_MODEL = ""
    collections.create_collection(alice)
    assert collections.list_collections(alice)["collections"][0]["dense_retrieval"] is False
    settings.RETRIEVAL_EMBEDDING_MODEL = "portico/test-embedding"  # the hash test model
    assert collections.list_collections(alice)["collections"][0]["dense_retrieval"] is False


def test_alice_cannot_see_or_touch_bobs_collection(alice, bob):
    theirs = collections.create_collection(bob)
    doc = ingest_text(bob, theirs, "b.txt", "bob's secret plans")
    cid = theirs.collection_id
    refused(HTTPStatus.NOT_FOUND, querying.query, alice, cid, "secret")
    refused(HTTPStatus.NOT_FOUND, documents.list_documents, alice, cid)
    refused(HTTPStatus.NOT_FOUND, documents.document_status, alice, cid, doc.doc_id)
    refused(HTTPStatus.NOT_FOUND, documents.delete_document, alice, cid, doc.doc_id)
    refused(HTTPStatus.NOT_FOUND, collections.delete_collection, alice, cid)
    refused(HTTPStatus.NOT_FOUND, ingest.ingest_file, alice, cid, "a.txt", "", b"x")
    refused(HTTPStatus.NOT_FOUND, ingest.ingest_pages, alice, cid, "t", "f", ["x"])
    assert collections.list_collections(alice) == {"collections": []}
    # Nor can she name bob's document inside her own collection.
    mine = collections.create_collection(alice)
    refused(HTTPStatus.NOT_FOUND, querying.query, alice, mine.collection_id, "x", [doc.doc_id])
    assert querying.query(bob, cid, "secret")["context"]


# --- Ingest -----------------------------------------------------------------------------
def test_ingest_answers_queued_stores_the_file_and_indexes_it(alice, collection):
    data = make_docx(("h", "Intro"), ("p", "Alpha."), ("break", ""), ("p", "Beta."))
    doc = ingest.ingest_file(alice, collection.collection_id, "r.docx", "", data)
    assert ingest.ingest_answer(doc) == {
        "id": doc.doc_id,
        "status": "queued",
        "pages": 2,
        "collection": collection.collection_id,
    }
    with default_storage.open(doc.stored_file, "rb") as handle:
        assert handle.read() == data
    status = documents.document_status(alice, collection.collection_id, doc.doc_id)
    assert status == {
        "doc_id": doc.doc_id,
        "status": "ready",
        "error": None,
        "pages": 2,
        "pages_read": 2,
        # Dense retrieval is off in the tests: no vectors will come.
        "dense_status": "off",
        "embedded_passages": 0,
        "passages": 2,
        "dense_error": None,
    }
    listed = documents.list_documents(alice, collection.collection_id)["documents"][0]
    assert listed["filename"] == "r.docx"
    assert listed["mime_type"].endswith("wordprocessingml.document")
    assert (listed["status"], listed["pages"]) == ("ready", 2)
    assert "file_url" in listed


def test_ingest_json_pages_keeps_page_numbers(alice, collection):
    doc = ingest.ingest_pages(
        alice, collection.collection_id, "Atlas", None, ["Rivers", "", "Mountains\x00"]
    )
    assert (doc.pages, doc.filename, doc.mime_type) == (3, "Atlas.json", "application/json")
    assert list(Page.objects.filter(document=doc).values_list("number", "text")) == [
        (1, "Rivers"),
        (2, ""),
        (3, "Mountains"),
    ]
    hit = querying.query(alice, collection.collection_id, "mountains")["context"][0]
    assert (hit["page_start"], hit["page_end"], hit["title"]) == (3, 3, "Atlas")


@pytest.mark.parametrize(
    ("name", "content_type", "data", "status"),
    [
        ("a.txt", "text/plain", b"", HTTPStatus.BAD_REQUEST),
        ("a.exe", "application/octet-stream", b"MZ", HTTPStatus.BAD_REQUEST),
        ("noext", "text/plain", b"hello", HTTPStatus.BAD_REQUEST),
        ("a.txt", "text/plain", "caf\xe9".encode("latin-1"), HTTPStatus.BAD_REQUEST),
        ("a.txt", "image/png", b"hello", HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
        ("a.docx", "text/html", b"PK", HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
        ("a.docx", "", b"PK\x03\x04 broken", HTTPStatus.BAD_REQUEST),
        ("a.pptx", "", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, HTTPStatus.BAD_REQUEST),
        ("a.pdf", "application/pdf", b"%PDF-1.4 not really", HTTPStatus.BAD_REQUEST),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_written(
    alice, collection, name, content_type, data, status
):
    refused(status, ingest.ingest_file, alice, collection.collection_id, name, content_type, data)
    assert not Document.objects.exists()
    assert not default_storage.exists(f"retrieval/{collection.collection_id}")


def test_too_large_uploads_are_413(alice, collection, settings):
    settings.RETRIEVAL_MAX_UPLOAD_MB = 1
    error = refused(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        ingest.ingest_file,
        alice,
        collection.collection_id,
        "big.txt",
        "text/plain",
        b"a " * 600_000,
    )
    assert error.param == "file"
    settings.RETRIEVAL_MAX_PAGES = 2
    refused(413, ingest.ingest_pages, alice, collection.collection_id, "t", None, ["a", "b", "c"])


def test_json_pages_must_be_strings_with_some_text(alice, collection):
    cid = collection.collection_id
    refused(422, ingest.ingest_pages, alice, cid, "t", None, ["ok", 3])
    refused(400, ingest.ingest_pages, alice, cid, "t", None, ["", "  \x00 "])


def test_pptx_slides_are_pages_and_their_titles_are_sections(alice, collection):
    data = make_pptx(
        [{"title": "Budget", "body": ["Salaries rise"]}, {"title": "Risks", "notes": "Flooding"}]
    )
    doc = ingest.ingest_file(alice, collection.collection_id, "deck.pptx", "", data)
    assert doc.pages == 2
    hit = querying.query(alice, collection.collection_id, "flooding")["context"][0]
    assert (hit["title"], hit["page_start"], hit["is_direct_hit"]) == ("Risks", 2, True)


def test_markdown_headings_title_the_passages(alice, collection):
    text = "# Guide\n\nInstall the tool.\n\n## Troubleshooting\n\nRestart the daemon."
    ingest.ingest_file(alice, collection.collection_id, "g.md", "text/markdown", text.encode())
    hit = querying.query(alice, collection.collection_id, "daemon restart")["context"][0]
    assert hit["title"] == "Troubleshooting"


# --- Query -------------------------------------------------------------------------------
FACTS = [
    "The Nile is the longest river in Africa and flows north into the Mediterranean.",
    "Mount Everest is the highest mountain above sea level, in the Himalayas.",
    "تقع مدينة الرياض في وسط المملكة العربية السعودية وهي العاصمة.",
    "المكتبة الوطنية تحتوي على مخطوطات نادرة من القرن الثالث عشر.",
]


@pytest.fixture
def atlas(alice, collection):
    return ingest.ingest_pages(alice, collection.collection_id, "Atlas", "atlas.json", FACTS)


@pytest.mark.parametrize(
    ("question", "page"),
    [
        ("Which river flows into the Mediterranean?", 1),
        ("highest mountains", 2),
        ("ما هي عاصمة المملكة العربية السعودية؟", 3),
        ("ما هي عاصمه المملكه العربيه السعوديه", 3),  # typed informally
        ("مخطوطات المكتبه الوطنيه", 4),
    ],
)
def test_the_right_page_ranks_first(alice, collection, atlas, question, page):
    answer = querying.query(alice, collection.collection_id, question)
    assert answer["context"][0]["page_start"] == page
    assert answer["effective_scope_doc_ids"] == [atlas.doc_id]


def test_answers_have_the_contract_shape_and_comparable_scores(alice, collection, atlas):
    answer = querying.query(alice, collection.collection_id, "longest river Africa", top_k=2)
    assert set(answer) == {"context", "effective_scope_doc_ids", "dense_retrieval"}
    assert answer["dense_retrieval"] is False
    best = answer["context"][0]
    assert set(best) == {
        "title",
        "page_start",
        "page_end",
        "score",
        "snippet",
        "is_direct_hit",
        "document_id",
    }
    assert best["document_id"] == atlas.doc_id
    assert best["is_direct_hit"] is True
    assert 0 < best["score"] < 1
    assert "Nile" in best["snippet"]
    partial = querying.query(alice, collection.collection_id, "longest glacier Antarctica")
    assert partial["context"][0]["is_direct_hit"] is False
    assert partial["context"][0]["score"] < best["score"]


def test_long_passages_are_trimmed_around_the_match(alice, collection):
    filler = " ".join(f"word{i}" for i in range(400))
    ingest.ingest_pages(
        alice, collection.collection_id, "t", None, [f"{filler} zebra crossing {filler}"]
    )
    snippet = querying.query(alice, collection.collection_id, "zebra")["context"][0]["snippet"]
    assert "zebra" in snippet
    assert snippet.startswith("…") and snippet.endswith("…")
    assert len(snippet.split()) <= 70


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ({}, 422, "missing_required_parameter", "query"),
        ({"query": None}, 422, "missing_required_parameter", "query"),
        ({"query": "   "}, 422, "missing_required_parameter", "query"),
        ({"query": 5}, 400, "invalid_parameter", "query"),
        ({"query": "x" * 4001}, 400, "invalid_parameter", "query"),
        ({"query": "x", "top_k": 51}, 400, "invalid_parameter", "top_k"),
        ({"query": "x", "top_k": 0}, 400, "invalid_parameter", "top_k"),
        ({"query": "x", "top_k": "8"}, 400, "invalid_parameter", "top_k"),
        ({"query": "x", "top_k": True}, 400, "invalid_parameter", "top_k"),
        ({"query": "x", "doc_ids": "abc"}, 400, "invalid_parameter", "doc_ids"),
        ({"query": "x", "doc_ids": ["a", 1]}, 400, "invalid_parameter", "doc_ids[1]"),
    ],
)
def test_a_query_is_checked_once_by_its_schema(body, status, code, param):
    with pytest.raises(ApiError) as caught:
        validate(RetrievalQuery, body)
    assert (caught.value.status, caught.value.code, caught.value.param) == (status, code, param)


def test_a_checked_query_is_cleaned_and_takes_the_default_top_k():
    question = validate(RetrievalQuery, {"query": "tea\x00 time", "doc_ids": ["a\x00b", "x" * 99]})
    assert (question.query, question.top_k) == ("tea time", 8)
    assert question.doc_ids == ["ab", "x" * 64]


def test_query_validation(alice, collection, atlas):
    cid = collection.collection_id
    refused(404, querying.query, alice, cid, "x", ["nope"])
    assert len(querying.query(alice, cid, "the of and")["context"]) == 0  # only stop words


def test_doc_ids_scope_the_search(alice, collection, atlas):
    other = ingest_text(alice, collection, "nile.txt", "The Nile delta is fertile farmland.")
    cid = collection.collection_id
    scoped = querying.query(alice, cid, "Nile", [other.doc_id])
    assert scoped["effective_scope_doc_ids"] == [other.doc_id]
    assert {c["document_id"] for c in scoped["context"]} == {other.doc_id}
    everything = querying.query(alice, cid, "Nile")
    assert set(everything["effective_scope_doc_ids"]) == {atlas.doc_id, other.doc_id}
    assert {c["document_id"] for c in everything["context"]} == {atlas.doc_id, other.doc_id}


# --- Incremental index ---------------------------------------------------------------------
def test_delete_document_removes_everything_incrementally(alice, collection, atlas):
    cid = collection.collection_id
    other = ingest_text(alice, collection, "nile.txt", "The Nile delta is fertile farmland.")
    collection.refresh_from_db()
    before = (collection.chunk_count, collection.total_length)
    atlas_chunks = Chunk.objects.filter(document=atlas).count()
    documents.delete_document(alice, cid, atlas.doc_id)
    collection.refresh_from_db()
    assert collection.chunk_count == before[0] - atlas_chunks
    assert not Posting.objects.filter(document_id=atlas.pk).exists()
    assert not Page.objects.filter(document_id=atlas.pk).exists()
    assert not default_storage.exists(atlas.stored_file)
    answer = querying.query(alice, cid, "Nile")
    assert [c["document_id"] for c in answer["context"]] == [other.doc_id]
    assert answer["effective_scope_doc_ids"] == [other.doc_id]
    refused(404, documents.document_status, alice, cid, atlas.doc_id)


def test_reindexing_replaces_a_documents_entries_without_double_counting(alice, collection, atlas):
    collection.refresh_from_db()
    stats = (collection.chunk_count, collection.total_length, Posting.objects.count())
    documents.reindex_document(alice, collection.collection_id, atlas.doc_id)
    collection.refresh_from_db()
    assert (collection.chunk_count, collection.total_length, Posting.objects.count()) == stats
    assert (
        documents.document_status(alice, collection.collection_id, atlas.doc_id)["status"]
        == "ready"
    )


def test_collection_statistics_match_the_passages(alice, collection, atlas):
    ingest_text(alice, collection, "x.txt", "Another short document about rivers.")
    collection.refresh_from_db()
    chunks = Chunk.objects.filter(collection=collection)
    assert collection.chunk_count == chunks.count()
    assert collection.total_length == sum(c.length for c in chunks)
    for chunk in chunks:
        # The postings hold the terms and the second terms; the length counts the words.
        tf, length = index_terms(f"{chunk.title}\n{chunk.text}")
        assert dict(Posting.objects.filter(chunk=chunk).values_list("term", "tf")) == tf
        assert chunk.length == length == len(terms(f"{chunk.title}\n{chunk.text}"))


def test_delete_collection_removes_its_documents_postings_and_files(alice, collection, atlas):
    collections.delete_collection(alice, collection.collection_id)
    assert not Collection.objects.exists()
    assert not Document.objects.exists()
    assert not Posting.objects.exists()
    assert not default_storage.exists(atlas.stored_file)


def test_deleting_the_owner_takes_the_postings_along(alice, collection, atlas):
    alice.delete()
    assert not Posting.objects.exists()


def test_query_words_side_by_side_rank_above_scattered_ones(alice, collection):
    cid = collection.collection_id
    ingest.ingest_pages(
        alice,
        cid,
        "t",
        None,
        # Same terms, same lengths: plain BM25 ties them (and would list page 1 first).
        ["Energy plan costly, green.", "Green energy plan costly."],
    )
    answer = querying.query(alice, cid, "green energy")
    assert [c["page_start"] for c in answer["context"]] == [2, 1]
    assert answer["context"][0]["score"] > answer["context"][1]["score"]


def test_untitled_json_pages_take_their_title_from_the_filename(alice, collection):
    ingest.ingest_pages(alice, collection.collection_id, None, "minutes-2024.json", ["Budget"])
    assert querying.query(alice, collection.collection_id, "budget")["context"][0]["title"] == (
        "minutes-2024"
    )
