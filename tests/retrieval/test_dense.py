"""The dense-retrieval seam: off by default and honest about it; fused with RRF when on."""

from __future__ import annotations

import pytest

from retrieval import dense, flows

pytestmark = pytest.mark.django_db(transaction=True)


class SynonymEmbedder:
    """A stand-in for a semantic model: cars and automobiles point the same way."""

    model = "acme/embed-1"
    topics = (("car", "automobile", "vehicle"), ("tea", "chai"), ("rain", "weather"))

    def embed(self, texts, payer):
        return [
            [float(any(word in text.lower() for word in topic)) for topic in self.topics] + [0.01]
            for text in texts
        ]

    async def aembed(self, texts, payer):
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
    collection = flows.create_collection(alice)
    cid = collection.collection_id
    assert flows.list_collections(alice)["collections"][0]["dense_retrieval"] is True
    flows.ingest_pages(alice, cid, "Notes", None, ["My car broke down.", "Chai with milk."])
    answer = flows.query(alice, cid, "automobile repair")
    first = answer["context"][0]
    assert (first["page_start"], first["is_direct_hit"]) == (1, False)
    assert 0 < first["score"] <= 1
