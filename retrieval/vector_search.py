"""Searching vector stores (a vector store is a collection: ``"vs_" + collection_id``).

The minimal form of the Files/Vector Stores interface: a file id is ``"file-" + doc_id``,
a result's text is the passage's snippet, scores are the collection's own ranking (not
comparable across stores, not bounded to 0–1), and ``filters`` are refused (attributes
and their filters come with the Files/Vector Stores work)."""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.collections import get_collection
from retrieval.errors import RetrievalError
from retrieval.models import Document
from retrieval.querying import query_collection


@dataclass(frozen=True)
class SearchHit:
    vector_store_id: str
    file_id: str
    filename: str
    score: float
    attributes: dict
    text: str
    page_start: int
    page_end: int


def search_vector_stores(
    user,
    vector_store_ids: list[str],
    query: str,
    *,
    max_num_results: int = 10,
    filters: dict | None = None,
    score_threshold: float | None = None,
    query_vector=None,
    budget=None,
) -> list[SearchHit]:
    """The best ``max_num_results`` passages of ``user``'s stores for ``query``.
    ``RetrievalError(404)`` for a store not the user's, ``(400)`` for filters."""
    if filters is not None:
        raise RetrievalError(
            400,
            "filters need the Files/Vector Stores work, which this server does not have yet.",
            "unsupported_parameter",
            "filters",
        )
    stores = []
    for vs_id in vector_store_ids:
        if not vs_id.startswith("vs_"):
            raise RetrievalError(
                404, f"No vector store {vs_id!r}.", "not_found", "vector_store_ids"
            )
        try:
            stores.append((vs_id, get_collection(user, vs_id.removeprefix("vs_"))))
        except RetrievalError:
            raise RetrievalError(
                404, f"No vector store {vs_id!r}.", "not_found", "vector_store_ids"
            ) from None
    hits: list[SearchHit] = []
    for vs_id, collection in stores:
        if not query:
            continue
        answer = query_collection(
            collection, query, top_k=max_num_results, query_vector=query_vector, budget=budget
        )
        names = {
            doc_id: filename or title
            for doc_id, filename, title in Document.objects.filter(
                collection=collection, doc_id__in=[c["document_id"] for c in answer["context"]]
            ).values_list("doc_id", "filename", "title")
        }
        hits.extend(
            SearchHit(
                vector_store_id=vs_id,
                file_id="file-" + passage["document_id"],
                filename=names.get(passage["document_id"], ""),
                score=passage["score"],
                attributes={},
                text=passage["snippet"],
                page_start=passage["page_start"],
                page_end=passage["page_end"],
            )
            for passage in answer["context"]
        )
    if score_threshold is not None:
        hits = [hit for hit in hits if hit.score >= score_threshold]
    hits.sort(key=lambda hit: -hit.score)
    return hits[:max_num_results]
