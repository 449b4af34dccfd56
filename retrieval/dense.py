"""Dense retrieval's seam: an embedder, vectors on passages, reciprocal rank fusion.

Dense retrieval is on only when the operator names a real catalog embedding model in
``RETRIEVAL_EMBEDDING_MODEL`` *and* an embedder for that model has been registered
(``register_embedder``; the gateway's embedding path is wired in by the API layer).
With the setting unset, or naming the built-in hash test embedding, it is off and the
collection info says ``"dense_retrieval": false`` — lexical ranking only, never a
pretend semantic score.

When on: passages get a float32 vector (L2-normalised) at indexing time; a query is
embedded, the passages in scope are ranked by cosine similarity and the two rankings
(BM25, cosine) are fused with reciprocal rank fusion (``RRF_K`` = 60).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

from retrieval import conf

RRF_K = 60


class Embedder(Protocol):
    model: str

    def embed(self, texts: list[str]) -> list[Sequence[float]]: ...


_embedder: Embedder | None = None


def register_embedder(embedder: Embedder | None) -> None:
    global _embedder
    _embedder = embedder


def active_embedder() -> Embedder | None:
    model = conf.embedding_model()
    if not model or model in conf.TEST_EMBEDDING_MODELS:
        return None
    if _embedder is None or _embedder.model != model:
        return None
    return _embedder


def enabled() -> bool:
    return active_embedder() is not None


def encode(vector: Sequence[float]) -> bytes:
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return (array / norm if norm else array).tobytes()


def rank(
    query_vector: Sequence[float], candidates: Iterable[tuple[int, bytes]]
) -> list[tuple[int, float]]:
    """``(id, cosine)`` best first, for passages with stored vectors."""
    ids, blobs = [], []
    for chunk_id, blob in candidates:
        if blob:
            ids.append(chunk_id)
            blobs.append(np.frombuffer(blob, dtype=np.float32))
    if not ids:
        return []
    query = np.frombuffer(encode(query_vector), dtype=np.float32)
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
