"""The Responses API's ``file_search`` tool, retrieval's side: who may search which vector
store, what a search costs, and the search itself, charged like ``/alRetrieval`` queries.

Registered with the gateway's server tools in ``RetrievalConfig.ready``; the gateway
runs the tool loop (``gateway.file_search``). Each search is one request of
``RETRIEVAL_MODEL`` (free when it finds nothing) under the request id the gateway gives
(``<id>_fs<n>``), with ``source=alretrieval`` (a signed-in user's page: the page's own,
``playground``) and endpoint ``responses.file_search``; with dense retrieval on, the
query's embedding is its own usage event (``<id>_fs<n>_embed``); both are charged from
the Responses call's reservation.
The key needs the ``alretrieval`` scope, as for the collection routes."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings

from accounts.models import User
from gateway.adapters.responses_file_search import (
    MAX_QUERY_CHARS,
    FileSearchResult,
    FileSearchSpec,
)
from gateway.admission import admit_model
from gateway.call import Call
from gateway.metering import record_part, usage_event
from ground.errors import ApiError
from retrieval.charging import dense_query, query_price, search_source
from retrieval.filters import parse_filters
from retrieval.offload import offload
from retrieval.spelling import QueryBudget
from retrieval.store_expiry import check_active
from retrieval.vector_search import search_vector_stores
from retrieval.vector_stores import get_vector_store

ENDPOINT = "responses.file_search"
SCOPE = "alretrieval"
# The widest query the gateway sends (``MAX_QUERY_CHARS``, four UTF-8 bytes each): what
# one search's embedding is held for before the query is known.
WORST_QUERY = "\U00010000" * MAX_QUERY_CHARS


def owner(call: Call) -> User:
    return User(pk=call.ctx.owner_id)


class FileSearchTool:
    """The backend the gateway's tool loop calls (``gateway.server_tools``)."""

    async def prepare(self, call: Call, spec: FileSearchSpec) -> Decimal:
        if SCOPE not in call.ctx.scopes:
            raise ApiError(
                403,
                f"file_search reads your vector stores: this API key lacks the '{SCOPE}' scope.",
                code="missing_scope",
                param="tools",
            )
        await admit_model(call, settings.RETRIEVAL_MODEL, param="tools")
        # Not yours, and filters the search cannot apply, are refused before anything runs.
        await sync_to_async(check_stores)(owner(call), spec.vector_store_ids)
        if spec.filters is not None:
            parse_filters(spec.filters, param="tools.filters")
        price = await sync_to_async(query_price)()
        return price + await (await dense_query(call)).worst_case([WORST_QUERY])

    async def search(
        self, call: Call, spec: FileSearchSpec, query: str, request_id: str
    ) -> list[FileSearchResult]:
        price = await sync_to_async(query_price)()
        vector = await (await dense_query(call)).embed(call, query, request_id)
        hits = await offload(
            search_vector_stores,
            owner(call),
            list(spec.vector_store_ids),
            query,
            max_num_results=spec.max_num_results,
            filters=spec.filters,
            score_threshold=spec.score_threshold,
            query_vector=vector,
            budget=QueryBudget(),
        )
        await record_search(call, request_id, price if hits else Decimal(0))
        return [
            FileSearchResult(
                vector_store_id=hit.vector_store_id,
                file_id=hit.file_id,
                filename=hit.filename,
                score=hit.score,
                text=hit.text,
                attributes=hit.attributes,
                page_start=hit.page_start,
                page_end=hit.page_end,
            )
            for hit in hits
        ]


def check_stores(user: User, vector_store_ids: tuple[str, ...]) -> None:
    """404 for a vector store id that is not one of ``user``'s (``get_vector_store``), 400
    for one that has expired."""
    for index, vs_id in enumerate(vector_store_ids):
        param = f"tools.vector_store_ids[{index}]"
        check_active(get_vector_store(user, vs_id, param), param)


async def record_search(call: Call, request_id: str, cost: Decimal) -> None:
    """One retrieval query's usage event, charged from the request's reservation while
    the request runs on (a lease counts it as spent at once; a per-request hold covers it
    until the model's answer closes the hold); a search that found nothing is $0."""
    search = dataclasses.replace(
        call,
        request_id=request_id,
        headers={},
        requested_model=settings.RETRIEVAL_MODEL,
        model=None,
        deployment=None,
        source=search_source(call),
        endpoint=ENDPOINT,
        stream=False,
        est_prompt=0,
        fallbacks=0,
        upstream_started=0.0,
    )
    event = usage_event(search, status="ok", http_status=200)
    event.units, event.cost_usd = 1, cost
    await record_part(call, event)
