"""Dense retrieval: the embedder, vectors on passages, reciprocal rank fusion.

Dense retrieval is on when the operator names a catalog embedding model in
``RETRIEVAL_EMBEDDING_MODEL`` (an enabled catalog entry of type ``embedding``). Passages
and queries are then embedded through the gateway's own embedding path
(``retrieval.embedding.GatewayEmbedder``: the same routing, fail-over and metering as
``/v1/embeddings``). With the setting unset, naming an unknown model, or naming the
built-in hash test embedding, it is off and the collection info says
``"dense_retrieval": false`` — lexical ranking only, never a pretend semantic score.

``register_embedder`` swaps in another embedder for that model (tests use a tiny
"semantic" one to check the fusion). When on: passages get a float32 vector
(L2-normalised) at indexing time; a query is embedded, the passages in scope embedded by
the same model are ranked by cosine similarity and the two rankings (BM25, cosine) are
fused with reciprocal rank fusion (``RRF_K`` = 60).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

from catalog.models import Model
from catalog.snapshots import get_catalog
from retrieval import conf
from retrieval.embedding import GatewayEmbedder, Payer

RRF_K = 60


class Embedder(Protocol):
    model: str

    def embed(self, texts: list[str], payer: Payer) -> list[Sequence[float]]: ...

    async def aembed(self, texts: list[str], payer: Payer) -> list[Sequence[float]]: ...


_embedder: Embedder | None = None
_gateway_embedders: dict[str, GatewayEmbedder] = {}


def register_embedder(embedder: Embedder | None) -> None:
    """Use ``embedder`` for its model instead of the gateway path (``None``: back to it)."""
    global _embedder
    _embedder = embedder


def configured_model() -> str | None:
    """The embedding model named by the operator, unless it is a test (hash) embedding."""
    model = conf.embedding_model()
    if not model or model in conf.TEST_EMBEDDING_MODELS:
        return None
    return model


def active_embedder() -> Embedder | None:
    """The embedder for the configured model (no catalog check: see ``enabled``)."""
    model = configured_model()
    if model is None:
        return None
    if _embedder is not None and _embedder.model == model:
        return _embedder
    if model not in _gateway_embedders:
        _gateway_embedders[model] = GatewayEmbedder(model)
    return _gateway_embedders[model]


def enabled() -> bool:
    """Dense retrieval is on: a real embedding model is configured and in the catalog."""
    model = configured_model()
    if model is None:
        return False
    if _embedder is not None and _embedder.model == model:
        return True
    return Model.objects.filter(public_id=model, type="embedding", enabled=True).exists()


async def aenabled() -> bool:
    """``enabled`` on an event loop, from the cached catalog snapshot (no query)."""
    model = configured_model()
    if model is None:
        return False
    if _embedder is not None and _embedder.model == model:
        return True
    entry = (await get_catalog()).models.get(model)
    return entry is not None and entry.type == "embedding"


def encode(vector: Sequence[float]) -> bytes:
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return (array / norm if norm else array).tobytes()


def rank(
    query_vector: Sequence[float], candidates: Iterable[tuple[int, bytes]]
) -> list[tuple[int, float]]:
    """``(id, cosine)`` best first, for passages with stored vectors."""
    query = np.frombuffer(encode(query_vector), dtype=np.float32)
    ids, blobs = [], []
    for chunk_id, blob in candidates:
        # A vector of another size was made by another model: not comparable.
        if blob and len(blob) == query.nbytes:
            ids.append(chunk_id)
            blobs.append(np.frombuffer(blob, dtype=np.float32))
    if not ids:
        return []
    scores = np.vstack(blobs) @ query
    order = np.argsort(-scores, kind="stable")
    return [(ids[i], float(scores[i])) for i in order]


def reciprocal_rank_fusion(rankings: Iterable[Sequence[int]], k: int = RRF_K) -> list[int]:
    """Ids ordered by Σ 1 / (k + rank) over the rankings (rank from 1); ties by first seen."""
    totals: dict[int, float] = {}
    for ranking in rankings:
        for position, item in enumerate(ranking, start=1):
            totals[item] = totals.get(item, 0.0) + 1.0 / (k + position)
    return sorted(totals, key=lambda item: -totals[item])
