"""How every search is admitted and charged: an alRetrieval query, a vector-store search
and (through ``charged_search``) a Responses ``file_search`` alike.

A search is one request of ``RETRIEVAL_MODEL``: admitted like any model (allowlists,
rate limits), held before the search, metered with the call's ``source``, free when it
finds nothing. With dense retrieval on, the query is also embedded here, on the
server's event loop, through the gateway's embedding path (its own usage event, covered
by the same hold); a failure is a ``note``, never a 5xx.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings

from catalog.models import Model
from gateway.admission import Call, admit_model, reserve
from gateway.metering import record, usage_event
from retrieval import dense, embedding, querying
from retrieval.offload import offload
from retrieval.spelling import QueryBudget

T = TypeVar("T")


def query_price() -> Decimal:
    price = (
        Model.objects.filter(public_id=settings.RETRIEVAL_MODEL, enabled=True)
        .values_list("unit_price", flat=True)
        .first()
    )
    return price or Decimal(0)


async def charged_search(
    call: Call,
    text: str,
    run: Callable[[querying.QueryVector, QueryBudget], T],
    *,
    found: Callable[[T], bool],
    check: Callable[[], object] | None = None,
) -> tuple[T, Decimal]:
    """Admit ``call`` to ``RETRIEVAL_MODEL``, run ``check`` (a sync lookup: a store or a
    collection not the caller's is a 404 before anything is held), hold the price (and
    the query embedding's worst case), embed ``text`` when dense retrieval is on, then
    ``run(query_vector, budget)`` on the retrieval threads and record the usage event:
    the price when ``found(result)``, else $0. Answers the result and the price charged."""
    await admit_model(call, settings.RETRIEVAL_MODEL)
    if check is not None:
        await sync_to_async(check)()
    price = await sync_to_async(query_price)()
    embedder = dense.active_embedder()
    dense_on = embedder is not None and await dense.aenabled()
    vector = querying.QueryVector(None)
    if dense_on and call.ctx.refuses_model(embedder.model):
        # The caller may search but not use the embedding model: lexical ranking only.
        dense_on, vector = False, querying.QueryVector(None, querying.DENSE_REFUSED_NOTE)
    # One hold covers the query and, with dense retrieval, its embedding's worst case;
    # the embedding is its own usage event (charged like /v1/embeddings).
    extra = await embedding.worst_case(embedder.model, [text]) if dense_on else Decimal(0)
    await reserve(call, price + extra)
    if dense_on:
        call.admitted_models.add(embedder.model)
        payer = embedding.Payer(
            call.ctx.owner_id, call.ctx.key_id or None, f"{call.request_id}_embed"
        )
        vector = await querying.aembed_query(text, payer)
    # Off the process's shared sync thread; stopped when the client goes away.
    result = await offload(run, vector, budget=QueryBudget())
    charged = price if found(result) else Decimal(0)
    event = usage_event(call, status="ok", http_status=200)
    event.units, event.cost_usd = 1, charged
    await record(call, event)
    return result, charged
