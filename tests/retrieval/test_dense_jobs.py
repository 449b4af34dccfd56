"""Vectors after the lexical index: a document is ready (found by its words) before its
passages are embedded, in batches, with progress; re-embedding; the trust-weighted
fusion; the in-process matrix of a collection's vectors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from catalog.models import Deployment, Model, Provider
from retrieval import collections, dense, documents, embedding_jobs, ingest, querying, vectors
from retrieval.embedding import Payer
from retrieval.models import Chunk, Document

pytestmark = pytest.mark.django_db(transaction=True)
E5 = "portico/multilingual-e5-small"


class WatchingEmbedder:
    """Topic vectors (cars, tea, rain) that note, each call, what the document looked
    like when it was asked to embed its passages."""

    model = "acme/embed-1"
    topics = (("car", "automobile"), ("tea", "chai"), ("rain", "weather"))

    def __init__(self) -> None:
        self.seen: list[tuple[str, int, str]] = []

    def vector(self, text: str) -> list[float]:
        return [float(any(w in text.lower() for w in topic)) for topic in self.topics] + [0.01]

    def embed(self, texts, payer, input_type="passage"):
        if input_type == "passage":
            document = Document.objects.order_by("-pk").first()
            self.seen.append((document.status, len(texts), document.dense_status))
        return [self.vector(t) for t in texts]

    async def aembed(self, texts, payer, input_type="query"):
        return [self.vector(t) for t in texts]


@pytest.fixture
def embedder(settings):
    settings.RETRIEVAL_EMBEDDING_MODEL = WatchingEmbedder.model
    watching = WatchingEmbedder()
    dense.register_embedder(watching)
    yield watching
    dense.register_embedder(None)


def test_a_document_is_ready_before_its_vectors_which_come_in_batches(alice, embedder):
    collection = collections.create_collection(alice)
    cid = collection.collection_id
    pages = [f"Page {n}: the car and the tea." for n in range(embedding_jobs.EMBED_BATCH + 3)]
    document = ingest.ingest_pages(alice, cid, "Notes", None, pages)

    # Every batch was embedded once the document was ready (searchable lexically).
    assert embedder.seen == [
        ("ready", embedding_jobs.EMBED_BATCH, "pending"),
        ("ready", 3, "pending"),
    ]
    status = documents.document_status(alice, cid, document.doc_id)
    assert (status["status"], status["dense_status"]) == ("ready", "ready")
    assert status["embedded_passages"] == status["passages"] == len(pages)
    listed = documents.list_documents(alice, cid)["documents"][0]
    assert listed["dense_retrieval"] is True and listed["dense_status"] == "ready"
    info = collections.list_collections(alice)["collections"][0]
    assert (info["dense_retrieval"], info["embedding_model"]) == (True, "acme/embed-1")


def test_queries_use_the_vectors_made_so_far(alice, embedder):
    collection = collections.create_collection(alice)
    cid = collection.collection_id
    ingest.ingest_pages(alice, cid, "Notes", None, ["My automobile broke.", "Chai with milk."])
    document = Document.objects.get()
    # Half-way: the second passage has no vector yet.
    Chunk.objects.filter(document=document, ordinal=1).update(embedding=None)
    Document.objects.filter(pk=document.pk).update(dense_status="pending", embedded_passages=1)
    status = documents.document_status(alice, cid, document.doc_id)
    assert (status["dense_status"], status["embedded_passages"]) == ("pending", 1)
    vector = querying.embed_query("car", Payer(alice.pk))
    answer = querying.query(alice, cid, "car", query_vector=vector)
    assert answer["dense_retrieval"] is True
    assert answer["context"][0]["page_start"] == 1  # found by meaning alone

    assert embedding_jobs.embed_document(document.pk) == "ready"
    assert not Chunk.objects.filter(document=document, embedding__isnull=True).exists()


def test_with_dense_off_a_document_says_so(alice, settings):
    settings.RETRIEVAL_EMBEDDING_MODEL = ""
    collection = collections.create_collection(alice)
    document = ingest.ingest_pages(alice, collection.collection_id, "T", None, ["Tea."])
    status = documents.document_status(alice, collection.collection_id, document.doc_id)
    assert (status["dense_status"], status["embedded_passages"]) == ("off", 0)
    info = collections.list_collections(alice)["collections"][0]
    assert (info["dense_retrieval"], info["embedding_model"]) == (False, None)


def test_reembed_gives_a_collection_new_vectors_with_progress(alice, embedder):
    Model.objects.create(public_id="acme/embed-1", type="embedding")
    collection = collections.create_collection(alice)
    cid = collection.collection_id
    ingest.ingest_pages(alice, cid, "Notes", None, ["Car.", "Tea.", "Rain."])
    document = Document.objects.get()
    Chunk.objects.filter(document=document).update(embedding=b"\x00" * 8)  # an old model's
    embedder.seen.clear()
    out = io.StringIO()
    call_command("reembed", "--collection", cid, stdout=out)
    assert "1 documents to embed with acme/embed-1" in out.getvalue()
    assert "document 1/1: 3/3 passages" in out.getvalue()
    assert "Done: 1 ready." in out.getvalue()
    assert embedder.seen == [("ready", 3, "pending")]
    sizes = {len(bytes(b)) for b in Chunk.objects.values_list("embedding", flat=True)}
    assert sizes == {4 * 4}

    with pytest.raises(CommandError, match="not an enabled embedding model"):
        call_command("reembed", "--all", "--model", "acme/absent", stdout=io.StringIO())


def test_an_account_that_may_not_use_the_model_gets_no_vectors_and_is_told(alice, embedder):
    alice.allowed_models = ["portico/alretrieval"]
    alice.save()
    collection = collections.create_collection(alice)
    document = ingest.ingest_pages(alice, collection.collection_id, "T", None, ["Tea."])
    status = documents.document_status(alice, collection.collection_id, document.doc_id)
    assert (status["status"], status["dense_status"]) == ("ready", "failed")
    assert "may not use acme/embed-1" in status["dense_error"]
    assert embedder.seen == []


# --- Fusion --------------------------------------------------------------------------------
def test_a_question_sharing_no_word_is_left_to_the_dense_ranking():
    # Lexical noise (a shared number, say) on passages 7 and 8, which the dense ranking
    # puts far down; the dense ranking's best are 3 and 4.
    lexical = [(7, 0.04), (8, 0.03)]
    cosine = [(3, 0.9), (4, 0.8), *((100 + i, 0.3) for i in range(40)), (7, 0.2), (8, 0.19)]
    fused = [i for i, _ in dense.trusted_fusion(lexical, cosine, dense_weight=1.0)]
    assert fused[:2] == [3, 4]
    # Plain RRF lets the noise win: two weak signals' agreement beats the best cosine.
    assert dense.reciprocal_rank_fusion([[7, 8], [i for i, _ in cosine]])[0] == 7


def test_a_dense_ranking_that_knows_nothing_does_not_reorder_a_confident_lexical_one():
    lexical = [(1, 0.6), (2, 0.5), (3, 0.4)]
    cosine = [(3, 0.1), (9, 0.09), (2, 0.08), (1, 0.07)]
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal((500, 16)) @ rng.standard_normal(16)).astype(np.float32)
    trust = dense.dense_trust(noise)
    assert trust < 0.3
    fused = [i for i, _ in dense.trusted_fusion(lexical, cosine, dense_weight=trust)]
    assert fused[:3] == [1, 2, 3]


def test_a_cosine_that_stands_out_is_trusted():
    scores = np.full(300, 0.2, dtype=np.float32)
    scores[:150] += 0.01
    scores[7] = 0.9
    assert dense.dense_trust(scores) == 1.0
    assert dense.lexical_trust(0.0) == 0.0 and dense.lexical_trust(0.9) == 1.0


# --- The collection's matrix ----------------------------------------------------------------
def test_the_matrix_is_read_again_only_when_the_vectors_change(alice, embedder):
    collection = collections.create_collection(alice)
    cid = collection.collection_id
    ingest.ingest_pages(alice, cid, "A", None, ["Car.", "Tea."])
    first = vectors.collection_matrix(collection.pk, "acme/embed-1", 4)
    assert first.vectors.shape == (2, 4)
    assert vectors.collection_matrix(collection.pk, "acme/embed-1", 4) is first
    ingest.ingest_pages(alice, cid, "B", None, ["Rain."])
    second = vectors.collection_matrix(collection.pk, "acme/embed-1", 4)
    assert second is not first and second.vectors.shape == (3, 4)
    ids, scores = vectors.cosine_scores(
        collection.pk, "acme/embed-1", [0, 0, 1, 0], document_pks=None
    )
    (best_id, best_cos), *_ = vectors.best(ids, scores, 2)
    assert Chunk.objects.get(pk=best_id).text == "Rain." and best_cos > 0.9
    # Scoped to a document, and to the passages of vectors of the query's size.
    a = Document.objects.get(title="A").pk
    ids, _ = vectors.cosine_scores(collection.pk, "acme/embed-1", [0, 0, 1, 0], document_pks=[a])
    assert len(ids) == 2
    ids, _ = vectors.cosine_scores(collection.pk, "acme/embed-1", [1, 0], document_pks=None)
    assert len(ids) == 0


# --- The built-in model, end to end ----------------------------------------------------------
def test_an_english_question_finds_the_arabic_document_with_the_built_in_model(alice, settings):
    local = Provider.objects.create(name="local", kind="local")
    model = Model.objects.create(public_id=E5, type="embedding")
    Deployment.objects.create(model=model, provider=local, upstream_model="multilingual-e5-small")
    settings.RETRIEVAL_EMBEDDING_MODEL = E5
    collection = collections.create_collection(alice)
    cid = collection.collection_id
    ingest.ingest_pages(
        alice,
        cid,
        "ملاحظات",
        None,
        [
            "يمر نهر النيل عبر مدينة القاهرة ويصب في البحر الأبيض المتوسط.",
            "يصنع الخبز من الدقيق والماء والخميرة ويخبز في الفرن.",
        ],
    )
    status = documents.list_documents(alice, cid)["documents"][0]
    assert (status["dense_status"], status["embedded_passages"]) == ("ready", 2)
    question = "Which river flows through Cairo?"
    vector = querying.embed_query(question, Payer(alice.pk))
    answer = querying.query(alice, cid, question, query_vector=vector)
    assert answer["dense_retrieval"] is True
    assert answer["context"][0]["page_start"] == 1  # no shared word: found by meaning
    assert answer["context"][0]["is_direct_hit"] is False
