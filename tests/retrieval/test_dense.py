"""The dense-retrieval seam: off unless a real model is named, and honest about it; fused in when on."""

from __future__ import annotations

import pytest

from retrieval import collections, dense, ingest, querying
from retrieval.embedding import Payer

pytestmark = pytest.mark.django_db(transaction=True)


class SynonymEmbedder:
    """A stand-in for a semantic model: cars and automobiles point the same way."""

    model = "acme/embed-1"
    topics = (("car", "automobile", "vehicle"), ("tea", "chai"), ("rain", "weather"))

    def embed(self, texts, payer, input_type="passage"):
        return [
            [float(any(word in text.lower() for word in topic)) for topic in self.topics] + [0.01]
            for text in texts
        ]

    async def aembed(self, texts, payer, input_type="query"):
        return self.embed(texts, payer)


@pytest.fixture
def embedder(settings):
    settings.RETRIEVAL_EMBEDDING_MODEL = SynonymEmbedder.model
    dense.register_embedder(SynonymEmbedder())
    yield
    dense.register_embedder(None)


def test_reciprocal_rank_fusion_rewards_agreement():
    assert dense.reciprocal_rank_fusion([[1, 2, 3], [2, 9, 1]]) == [2, 1, 9, 3]


def test_dense_is_off_until_a_real_model_is_named_and_wired(settings):
    settings.RETRIEVAL_EMBEDDING_MODEL = ""
    assert dense.enabled() is False
    settings.RETRIEVAL_EMBEDDING_MODEL = "acme/embed-1"
    assert dense.enabled() is False  # named, but no embedder registered: still off


def test_dense_hits_are_fused_in_when_on(alice, embedder):
    collection = collections.create_collection(alice)
    cid = collection.collection_id
    assert collections.list_collections(alice)["collections"][0]["dense_retrieval"] is True
    ingest.ingest_pages(alice, cid, "Notes", None, ["My car broke down.", "Chai with milk."])
    vector = querying.embed_query("automobile repair", Payer(alice.pk))
    answer = querying.query(alice, cid, "automobile repair", query_vector=vector)
    first = answer["context"][0]
    assert (first["page_start"], first["is_direct_hit"]) == (1, False)
    assert 0 < first["score"] <= 1


def test_an_upstream_answer_is_read_as_base64_or_floats_in_input_order():
    import base64

    import numpy as np

    from gateway.embedding import decode

    packed = base64.b64encode(np.array([0.5, 1.5], dtype="<f4").tobytes()).decode()
    payload = {"data": [{"index": 1, "embedding": [3.0, 4.0]}, {"index": 0, "embedding": packed}]}
    first, second = decode(payload, 2)
    assert first.tolist() == [0.5, 1.5] and second.tolist() == [3.0, 4.0]


@pytest.mark.parametrize(
    "payload",
    [
        {"data": [{"index": 0, "embedding": [1.0]}]},  # one vector for two texts
        {"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [2.0]}]},
        {"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1.0, 2.0]}]},
        {"data": [{"index": 0, "embedding": [float("nan")]}, {"index": 1, "embedding": [1.0]}]},
        {"data": [{"index": 0, "embedding": "not base64!"}, {"index": 1, "embedding": [1.0]}]},
        {"data": "nope"},
    ],
)
def test_an_unusable_upstream_answer_is_refused_not_stored(payload):
    from gateway.embedding import EmbeddingFailed as EmbeddingUnavailable
    from gateway.embedding import decode

    with pytest.raises(EmbeddingUnavailable):
        decode(payload, 2)
