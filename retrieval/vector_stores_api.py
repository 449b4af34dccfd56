"""``/v1/vector_stores`` (OpenAI's Vector Stores API, scope ``alretrieval``): create, list,
retrieve, modify, delete, and search. A vector store is an alRetrieval collection
(``vs_`` + its ``collection_id``): the same rows, the same index, the same bill.

Creating a store with ``file_ids`` ingests them (``RETRIEVAL_MODEL``; a PDF also uses
``OCR_PAGE_MODEL`` and its pages are held). A search is admitted and charged exactly
as an alRetrieval query (``retrieval.charging.charged_search``).
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router

from gateway.admission import Call, admit_model_sync, v1
from gateway.proxy import json_response
from ground.bodies import json_body, parse_json, parse_query, query_parameters
from retrieval import openai_shapes, vector_search, vector_stores
from retrieval.api import owner, pdf_charge, retrieval_model
from retrieval.charging import charged_searches
from retrieval.filters import parse_filters
from retrieval.models import Collection
from retrieval.offload import offload
from retrieval.openai_schemas import (
    ListQuery,
    SearchResultsPage,
    VectorStoreCreate,
    VectorStoreDeleted,
    VectorStoreList,
    VectorStoreModify,
    VectorStoreObject,
    VectorStoreSearch,
)
from retrieval.text import rewrite_query

router = Router(tags=["Vector stores"])
BASE = "/vector_stores"


def dumped(value):
    return value.model_dump() if value is not None else None


def store_object(collection: Collection) -> dict:
    return openai_shapes.vector_store_object(collection, now=timezone.now())


def create(request: HttpRequest, call: Call) -> dict:
    body = parse_json(request, VectorStoreCreate, required=False)
    user = owner(call)
    file_ids = body.file_ids or []
    charge = None
    if vector_stores.needs_ocr(user, file_ids):  # a PDF is read by OCR: that model too
        admit_model_sync(call, settings.OCR_PAGE_MODEL)
        charge = pdf_charge(call)
    collection = vector_stores.create_vector_store(
        user,
        name=body.name,
        metadata=body.metadata,
        expires_after=dumped(body.expires_after),
        file_ids=file_ids,
        chunking_strategy=dumped(body.chunking_strategy),
        charge=charge,
    )
    return store_object(collection)


@router.post(
    BASE,
    openapi_extra=json_body(VectorStoreCreate, required=False),
    response=VectorStoreObject,
    summary="Create a vector store (an alRetrieval collection)",
)
@v1("alretrieval", source="alretrieval", model=retrieval_model)
async def create_vector_store(request: HttpRequest, call: Call) -> HttpResponse:
    return json_response(await offload(create, request, call))


@router.get(
    BASE,
    openapi_extra=query_parameters(ListQuery),
    response=VectorStoreList,
    summary="List your vector stores",
)
@v1("alretrieval", source="alretrieval")
async def list_vector_stores(request: HttpRequest, call: Call) -> HttpResponse:
    options = parse_query(request, ListQuery)
    page = await sync_to_async(vector_stores.list_vector_stores)(
        owner(call), after=options.after, limit=options.limit, order=options.order
    )
    return json_response(page)


def retrieve(call: Call, vector_store_id: str) -> dict:
    return store_object(vector_stores.get_vector_store(owner(call), vector_store_id))


@router.get(BASE + "/{vector_store_id}", response=VectorStoreObject, summary="Retrieve a store")
@v1("alretrieval", source="alretrieval")
async def retrieve_vector_store(
    request: HttpRequest, call: Call, vector_store_id: str
) -> HttpResponse:
    return json_response(await sync_to_async(retrieve)(call, vector_store_id))


def modify(request: HttpRequest, call: Call, vector_store_id: str) -> dict:
    body = parse_json(request, VectorStoreModify, required=False)
    changes = {
        field: dumped(value) if field == "expires_after" else value
        for field, value in body
        if field in body.model_fields_set
    }
    return store_object(vector_stores.modify_vector_store(owner(call), vector_store_id, changes))


@router.post(
    BASE + "/{vector_store_id}",
    openapi_extra=json_body(VectorStoreModify, required=False),
    response=VectorStoreObject,
    summary="Modify a store's name, metadata or expiry",
)
@v1("alretrieval", source="alretrieval")
async def modify_vector_store(
    request: HttpRequest, call: Call, vector_store_id: str
) -> HttpResponse:
    return json_response(await sync_to_async(modify)(request, call, vector_store_id))


@router.delete(BASE + "/{vector_store_id}", response=VectorStoreDeleted, summary="Delete a store")
@v1("alretrieval", source="alretrieval")
async def delete_vector_store(
    request: HttpRequest, call: Call, vector_store_id: str
) -> HttpResponse:
    """Its documents go (also those being indexed); the files stay."""
    await offload(vector_stores.delete_vector_store, owner(call), vector_store_id)
    return json_response({"id": vector_store_id, "object": "vector_store.deleted", "deleted": True})


def result(hit: vector_search.SearchHit) -> dict:
    return {
        "file_id": hit.file_id,
        "filename": hit.filename,
        "score": hit.score,
        "attributes": hit.attributes,
        "content": [{"type": "text", "text": hit.text}],
        "page_start": hit.page_start,
        "page_end": hit.page_end,
        "vector_store_id": hit.vector_store_id,
    }


@router.post(
    BASE + "/{vector_store_id}/search",
    openapi_extra=json_body(VectorStoreSearch),
    response=SearchResultsPage,
    summary="Search a vector store",
)
@v1("alretrieval", endpoint="alretrieval.query", source="alretrieval", admit_now=False)
async def search(request: HttpRequest, call: Call, vector_store_id: str) -> HttpResponse:
    """Ranked passages with their pages. Each query string (a list is searched query by
    query and the hits merged) is charged as one alRetrieval query of
    `portico/alretrieval`, free when it finds nothing; `rewrite_query` drops question and
    stop words, and `search_query` shows what was searched."""
    body = parse_json(request, VectorStoreSearch)
    queries = vector_search.check_queries(body.query)
    if body.rewrite_query:
        queries = [rewrite_query(query) for query in queries]
    queries = list(dict.fromkeys(queries))  # the same words are searched (and charged) once
    checked = parse_filters(body.filters) if body.filters is not None else None
    threshold = body.ranking_options.score_threshold if body.ranking_options else None
    stores: list[Collection] = []

    def check() -> None:
        stores.extend(vector_search.find_stores(owner(call), [vector_store_id]))

    def run(vectors, budget) -> tuple[list[vector_search.SearchHit], int]:
        return vector_search.search_each(
            stores,
            queries,
            vectors,
            max_num_results=body.max_num_results,
            checked_filters=checked,
            score_threshold=threshold,
            budget=budget,
        )

    (hits, _), _ = await charged_searches(
        call, queries, run, found=lambda result: result[1], check=check
    )
    return json_response(
        {
            "object": "vector_store.search_results.page",
            "search_query": queries,
            "data": [result(hit) for hit in hits],
            "has_more": False,
            "next_page": None,
        }
    )
