"""Passages and queries embedded through the gateway's seam (``gateway.embedding``):
the same routing, fail-over and metering as ``POST /v1/embeddings``.

Each call is one usage event with ``source="alretrieval"`` (or the payer's page's, for
a playground question's search; endpoint
``alretrieval.embed``), charged to the payer; a failed call is an ``error`` event that
costs nothing. Failures raise ``EmbeddingUnavailable``: callers fall back to lexical
ranking and say so. Admission is the caller's: the API admits the embedding model for
the query's caller, the indexing worker checks the document owner's ``payer_context``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np

from gateway import embedding as gateway_embedding
from gateway.call import Call
from gateway.embedding import EmbeddingFailed as EmbeddingUnavailable
from gateway.embedding import worst_case

SOURCE = "alretrieval"
ENDPOINT = "alretrieval.embed"

__all__ = ["ENDPOINT", "EmbeddingUnavailable", "GatewayEmbedder", "Payer", "worst_case"]


@dataclass(frozen=True)
class Payer:
    """Whom an embedding call is charged to, under which request id, and (a query's
    embedding) the running request whose reservation pays for it."""

    user_id: int
    api_key_id: int | None = None
    request_id: str = ""
    # The usage record's source: Retrieval's, or the page the embedding was made for
    # (a playground question's searches).
    source: str = SOURCE
    part_of: Call | None = None

    def caller(self) -> gateway_embedding.Caller:
        return gateway_embedding.Caller(
            self.user_id,
            self.api_key_id,
            self.request_id or f"rtv_emb_{uuid.uuid4().hex}",
            source=self.source,
            endpoint=ENDPOINT,
            part_of=self.part_of,
        )


class GatewayEmbedder:
    """``embed`` (synchronous: the Celery task) and ``aembed`` (the API's event loop) of
    one catalog embedding model, through the gateway. ``input_type``: ``"passage"`` for
    what is indexed, ``"query"`` for a question (the e5 model's prefixes; other models
    ignore it)."""

    def __init__(self, model: str) -> None:
        self.model = model

    async def aembed(
        self, texts: list[str], payer: Payer, input_type: str = "query"
    ) -> list[np.ndarray]:
        return await gateway_embedding.aembed(payer.caller(), self.model, texts, input_type)

    def embed(
        self, texts: list[str], payer: Payer, input_type: str = "passage"
    ) -> list[np.ndarray]:
        return gateway_embedding.embed(payer.caller(), self.model, texts, input_type)
