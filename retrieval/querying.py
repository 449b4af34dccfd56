"""Questions asked of a collection: the query checked, embedded when dense retrieval is
on (through the gateway, metered to the caller), ranked, and scoped to its documents."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval import dense
from retrieval.collections import get_collection
from retrieval.embedding import EmbeddingUnavailable, Payer
from retrieval.errors import RetrievalError
from retrieval.filters import matches
from retrieval.models import Collection, Document
from retrieval.search import search
from retrieval.spelling import QueryBudget

log = logging.getLogger(__name__)

MAX_TOP_K = 50
DEFAULT_TOP_K = 8
MAX_QUERY_CHARS = 4000


@dataclass(frozen=True)
class QueryVector:
    """The query's embedding, made by the caller (the API embeds on its event loop), or
    ``None`` with the reason dense ranking is skipped for this query."""

    vector: Sequence[float] | None
    note: str = ""


DENSE_FAILED_NOTE = (
    "Dense retrieval was unavailable for this query (the embedding model did not "
    "answer); the passages are ranked lexically."
)


DENSE_REFUSED_NOTE = (
    "Dense retrieval is not available to you (your account or key may not use the "
    "embedding model); the passages are ranked lexically."
)


def embed_query(text: str, payer: Payer) -> QueryVector:
    """The query's vector through the gateway (metered to ``payer``); on failure, none
    and why: the query is then ranked lexically."""
    embedder = dense.active_embedder()
    if embedder is None:
        return QueryVector(None)
    try:
        return QueryVector(embedder.embed([text], payer, input_type="query")[0])
    except EmbeddingUnavailable as exc:
        log.warning("Query ranked lexically only: embedding failed: %s", exc.reason)
        return QueryVector(None, DENSE_FAILED_NOTE)


async def aembed_query(text: str, payer: Payer) -> QueryVector:
    """``embed_query`` on the server's event loop (its pooled upstream session)."""
    embedder = dense.active_embedder()
    if embedder is None:
        return QueryVector(None)
    try:
        return QueryVector((await embedder.aembed([text], payer, input_type="query"))[0])
    except EmbeddingUnavailable as exc:
        log.warning("Query ranked lexically only: embedding failed: %s", exc.reason)
        return QueryVector(None, DENSE_FAILED_NOTE)


async def aembed_queries(texts: list[str], payer: Payer) -> list[QueryVector]:
    """The vectors of several queries in one embedding call (one usage event)."""
    embedder = dense.active_embedder()
    if embedder is None:
        return [QueryVector(None)] * len(texts)
    try:
        vectors = await embedder.aembed(texts, payer, input_type="query")
    except EmbeddingUnavailable as exc:
        log.warning("Queries ranked lexically only: embedding failed: %s", exc.reason)
        return [QueryVector(None, DENSE_FAILED_NOTE)] * len(texts)
    return [QueryVector(vector) for vector in vectors]


def filtered(collection: Collection, checked: dict, document_pks: list[int] | None) -> list[int]:
    """The ready documents (of ``document_pks``, when given) whose attributes match."""
    ready = collection.documents.filter(status=Document.Status.READY)
    if document_pks is not None:
        ready = ready.filter(pk__in=document_pks)
    return [
        pk
        for pk, attributes in ready.order_by("created_at", "id").values_list("pk", "attributes")
        if matches(checked, attributes or {})
    ]


def query(
    user,
    collection_id: str,
    query: str,
    doc_ids: list[str] | None = None,
    top_k: int = DEFAULT_TOP_K,
    *,
    query_vector: QueryVector | None = None,
    budget: QueryBudget | None = None,
) -> dict:
    """``query_collection`` on ``user``'s collection ``collection_id`` (404 if not theirs)."""
    collection = get_collection(user, collection_id)
    return query_collection(
        collection, query, doc_ids, top_k, query_vector=query_vector, budget=budget
    )


def query_collection(
    collection: Collection,
    query: str,
    doc_ids: list[str] | None = None,
    top_k: int = DEFAULT_TOP_K,
    *,
    query_vector: QueryVector | None = None,
    budget: QueryBudget | None = None,
    filters: dict | None = None,
    with_text: bool = False,
) -> dict:
    """The passages that best answer ``query``: the API's ``{"context", ...}`` answer,
    plus ``dense_retrieval`` (whether a cosine ranking was fused in) and, when dense
    retrieval is on but failed for this query, a ``note``.

    The arguments were checked once, where they came in (``retrieval.schemas.
    RetrievalQuery``: the query cleaned and bounded, ``doc_ids`` strings, ``top_k`` 1–50).
    Dense ranking needs ``query_vector``: the caller embeds the query once admission let
    it use the embedding model (``retrieval.charging.charged_search``). ``budget``: how the
    caller cancels the query (its client went away); the search stops at its next
    checkpoint with ``QueryCancelled``. ``filters``: a filter checked by
    ``retrieval.filters.parse_filters``; only documents whose attributes it matches are
    searched. ``with_text``: each passage also carries its whole ``text``."""
    if doc_ids:
        wanted = list(dict.fromkeys(doc_ids))
        found = {
            doc_id: (pk, status)
            for doc_id, pk, status in Document.objects.filter(
                collection=collection, doc_id__in=wanted
            ).values_list("doc_id", "pk", "status")
        }
        missing = [d for d in wanted if d not in found]
        if missing:
            raise RetrievalError(
                404, f"No such document: {missing[0]!r}.", "document_not_found", "doc_ids"
            )
        # Only ready documents are searched (one being indexed has part of its postings).
        ready = [found[d][0] for d in wanted if found[d][1] == Document.Status.READY]
        scope_ids, document_pks = wanted, ready
    else:
        ready = list(
            collection.documents.filter(status=Document.Status.READY)
            .order_by("created_at", "id")
            .values_list("doc_id", "pk")
        )
        scope_ids = [doc_id for doc_id, _ in ready]
        # A document being indexed has part of its postings written (indexing commits in
        # batches): while one exists, the search is scoped to the ready ones.
        pending = collection.documents.exclude(status=Document.Status.READY).exists()
        document_pks = [pk for _, pk in ready] if pending else None
    if filters is not None:
        document_pks = filtered(collection, filters, document_pks)
        by_pk = dict(Document.objects.filter(pk__in=document_pks).values_list("pk", "doc_id"))
        scope_ids = [by_pk[pk] for pk in document_pks]
    model = dense.configured_model()
    vector = query_vector.vector if query_vector else None
    context = search(
        collection,
        query,
        document_pks=document_pks,
        top_k=top_k,
        query_vector=vector,
        embedding_model=model or "",
        budget=budget,
        with_text=with_text,
    )
    answer = {
        "context": context,
        "effective_scope_doc_ids": scope_ids,
        "dense_retrieval": vector is not None,
    }
    if query_vector is not None and query_vector.note:
        answer["note"] = query_vector.note
    return answer
