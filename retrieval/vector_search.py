"""Search over a caller's vector stores: the vector-store search route and the Responses
API's ``file_search`` tool both call ``search_vector_stores``.

Each store is searched as an alRetrieval query searches its collection
(``retrieval.querying.query_collection``: BM25 with Arabic-aware analysis, spelling
tolerance, dense fusion when a query vector is given), scoped by the attribute filter,
and the hits of every store are merged best first. Charging is the caller's part
(``retrieval.charging.charged_search``), as for an alRetrieval query.
"""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.attributes import check_plain_text
from retrieval.errors import RetrievalError
from retrieval.filters import parse_filters
from retrieval.models import Collection, Document
from retrieval.querying import MAX_QUERY_CHARS, MAX_TOP_K, QueryVector, query_collection
from retrieval.spelling import QueryBudget
from retrieval.store_expiry import check_active, touch
from retrieval.vector_stores import get_vector_store

__all__ = ["SearchHit", "parse_filters", "search_vector_stores"]
MAX_STORES = 20


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


def check_query(query: object, param: str = "query") -> str:
    if not isinstance(query, str) or not query.strip():
        raise RetrievalError(422, f"Missing required parameter: '{param}'.", None, param)
    if len(query) > MAX_QUERY_CHARS:
        raise RetrievalError(
            400,
            f"Invalid '{param}': at most {MAX_QUERY_CHARS} characters.",
            "invalid_parameter",
            param,
        )
    return check_plain_text(query, param)


MAX_QUERIES = 10


def check_queries(value: object) -> list[str]:
    """A search's ``query``: a string, or a list of 1 to 10 strings (each searched)."""
    if isinstance(value, list):
        if not 1 <= len(value) <= MAX_QUERIES:
            raise RetrievalError(
                400, f"Invalid 'query': 1 to {MAX_QUERIES} strings.", "invalid_parameter", "query"
            )
        return [check_query(item, f"query[{i}]") for i, item in enumerate(value)]
    if value is not None and not isinstance(value, str):
        raise RetrievalError(
            400, "Invalid 'query': a string or a list of strings.", "invalid_parameter", "query"
        )
    return [check_query(value)]


def check_max_results(value: object) -> int:
    if type(value) is not int or not 1 <= value <= MAX_TOP_K:
        raise RetrievalError(
            400,
            f"Invalid 'max_num_results': an integer from 1 to {MAX_TOP_K}.",
            "invalid_parameter",
            "max_num_results",
        )
    return value


def find_stores(user, vector_store_ids: list[str]) -> list[Collection]:
    """The caller's stores, once each (a 404 naming the first that is not theirs, a 400
    for one that has expired)."""
    if not vector_store_ids or len(vector_store_ids) > MAX_STORES:
        raise RetrievalError(
            400,
            f"Invalid 'vector_store_ids': 1 to {MAX_STORES} ids.",
            "invalid_parameter",
            "vector_store_ids",
        )
    unique = list(dict.fromkeys(str(v) for v in vector_store_ids))
    stores = [get_vector_store(user, v, f"vector_store_ids[{i}]") for i, v in enumerate(unique)]
    for i, store in enumerate(stores):
        check_active(store, f"vector_store_ids[{i}]")  # an expired store is a 400
    return stores


def search_stores(
    stores: list[Collection],
    query: str,
    *,
    max_num_results: int,
    checked_filters: dict | None,
    score_threshold: float | None,
    query_vector: QueryVector | None,
    budget: QueryBudget | None,
) -> list[SearchHit]:
    """``search_vector_stores`` once the arguments were checked and the stores found."""
    hits: list[SearchHit] = []
    for store in stores:
        answer = query_collection(
            store,
            query,
            top_k=max_num_results,
            query_vector=query_vector,
            budget=budget,
            filters=checked_filters,
            with_text=True,
        )
        doc_ids = {passage["document_id"] for passage in answer["context"]}
        documents = {
            d.doc_id: d
            for d in Document.objects.select_related("file").filter(
                collection=store, doc_id__in=doc_ids
            )
        }
        for passage in answer["context"]:
            document = documents.get(passage["document_id"])
            if document is None or document.file is None:  # deleted meanwhile
                continue
            hits.append(
                SearchHit(
                    vector_store_id=store.vector_store_id,
                    file_id=document.file.file_id,
                    filename=document.filename,
                    score=passage["score"],
                    attributes=document.attributes or {},
                    text=passage["text"],
                    page_start=passage["page_start"],
                    page_end=passage["page_end"],
                )
            )
    if score_threshold is not None:
        hits = [hit for hit in hits if hit.score >= score_threshold]
    hits.sort(key=lambda hit: -hit.score)  # stable: each store's own order among ties
    touch(stores)  # a search is activity: the stores' expiry moves on
    return hits[:max_num_results]


def search_each(
    stores: list[Collection],
    queries: list[str],
    query_vectors: list[QueryVector],
    *,
    max_num_results: int,
    checked_filters: dict | None,
    score_threshold: float | None,
    budget: QueryBudget | None,
) -> tuple[list[SearchHit], int]:
    """Each query searched on its own (``search_stores``) and the hits merged: a passage
    found by several queries appears once, with its best score. Answers the merged hits,
    best first, at most ``max_num_results``, and how many of the queries found something."""
    best: dict[tuple, SearchHit] = {}
    found = 0
    for query, vector in zip(queries, query_vectors, strict=True):
        hits = search_stores(
            stores,
            query,
            max_num_results=max_num_results,
            checked_filters=checked_filters,
            score_threshold=score_threshold,
            query_vector=vector,
            budget=budget,
        )
        found += bool(hits)
        for hit in hits:
            key = (hit.vector_store_id, hit.file_id, hit.page_start, hit.page_end, hit.text)
            if key not in best or hit.score > best[key].score:
                best[key] = hit
    merged = sorted(best.values(), key=lambda hit: -hit.score)  # stable: first found first
    return merged[:max_num_results], found


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
    """The passages of ``user``'s stores that best answer ``query``, best first, merged
    across the stores, at most ``max_num_results``. A store not the user's is a 404
    (``vector_store_not_found``, ``param`` ``vector_store_ids[i]``); a bad filter, query
    or count a 400. ``query_vector``: the query's embedding (a list of floats or a
    ``QueryVector``) for dense fusion; ``budget``: a ``QueryBudget`` to cancel it."""
    query = check_query(query)
    max_num_results = check_max_results(max_num_results)
    checked = parse_filters(filters) if filters is not None else None
    if score_threshold is not None and not 0 <= score_threshold <= 1:
        raise RetrievalError(
            400,
            "Invalid 'ranking_options.score_threshold': from 0 to 1.",
            "invalid_parameter",
            "ranking_options.score_threshold",
        )
    stores = find_stores(user, vector_store_ids)
    if query_vector is not None and not isinstance(query_vector, QueryVector):
        query_vector = QueryVector(query_vector)
    return search_stores(
        stores,
        query,
        max_num_results=max_num_results,
        checked_filters=checked,
        score_threshold=score_threshold,
        query_vector=query_vector,
        budget=budget,
    )
