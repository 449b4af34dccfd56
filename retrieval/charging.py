"""How every search is admitted and charged: an alRetrieval query, a vector-store search
and (through ``charged_search``) a Responses ``file_search`` alike.

A search is one request of ``RETRIEVAL_MODEL``: admitted like any model (allowlists,
rate limits), held before the search, metered with the call's ``source``, free when it
finds nothing. With dense retrieval on, the query is also embedded here, on the
server's event loop, through the gateway's embedding path: its own usage event
(``<id>_embed``), charged from the search's reservation like every part of a request
(``gateway.metering.record_part``); a failure is a ``note``, never a 5xx.

``dense_query`` is the one place that decides whether a search embeds its query: the
routes here and the Responses ``file_search`` tool (``retrieval.file_search_tool``) ask it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class DenseQuery:
    """Whether a search of ``call`` embeds its query: with ``embedder``, or not (``None``;
    ``note`` says why when the caller may not use the embedding model)."""

    embedder: dense.Embedder | None
    note: str = ""

    async def worst_case(self, texts: list[str]) -> Decimal:
        """What the reservation must cover to embed ``texts`` (0 when not embedding)."""
        if self.embedder is None:
            return Decimal(0)
        return await embedding.worst_case(self.embedder.model, texts)

    async def embed(self, call: Call, text: str, request_id: str) -> querying.QueryVector:
        """``text``'s vector, its usage event ``<request_id>_embed`` charged from ``call``'s
        reservation; no vector (with the note) when not embedding."""
        return (await self.embed_all(call, [text], request_id))[0]

    async def embed_all(
        self, call: Call, texts: list[str], request_id: str
    ) -> list[querying.QueryVector]:
        """``embed`` of several queries in one embedding call (one usage event)."""
        if self.embedder is None:
            return [querying.QueryVector(None, self.note)] * len(texts)
        call.admitted_models.add(self.embedder.model)
        payer = embedding.Payer(
            call.ctx.owner_id,
            call.ctx.key_id or None,
            f"{request_id}_embed",
            source=search_source(call),
            part_of=call,
        )
        if len(texts) == 1:
            return [await querying.aembed_query(texts[0], payer)]
        return await querying.aembed_queries(texts, payer)


def search_source(call: Call) -> str:
    """The source of a search's usage records: Retrieval's for an API key's request; the
    page's own for a signed-in user's page (the playground's "Chat with your documents"),
    so the question and its searches show together under that page."""
    return call.source if call.ctx.session else embedding.SOURCE


async def dense_query(call: Call) -> DenseQuery:
    """Dense retrieval is on and ``call``'s caller may use its embedding model: embed the
    query. On but refused to this caller: lexical ranking only, and the answer says so."""
    embedder = dense.active_embedder()
    if embedder is None or not await dense.aenabled():
        return DenseQuery(None)
    if call.ctx.refuses_model(embedder.model):
        return DenseQuery(None, querying.DENSE_REFUSED_NOTE)
    return DenseQuery(embedder)


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
    """``charged_searches`` of one query: ``run(query_vector, budget)``, charged the
    price when ``found(result)``, else $0."""
    return await charged_searches(
        call,
        [text],
        lambda vectors, budget: run(vectors[0], budget),
        found=lambda result: int(bool(found(result))),
        check=check,
    )


async def charged_searches(
    call: Call,
    texts: list[str],
    run: Callable[[list[querying.QueryVector], QueryBudget], T],
    *,
    found: Callable[[T], int],
    check: Callable[[], object] | None = None,
) -> tuple[T, Decimal]:
    """Admit ``call`` to ``RETRIEVAL_MODEL``, run ``check`` (a sync lookup: a store or a
    collection not the caller's is a 404 before anything is held), hold the price of
    each query in ``texts`` (and their embedding's worst case), embed them when dense
    retrieval is on, then ``run(query_vectors, budget)`` on the retrieval threads and
    record one usage event of ``len(texts)`` units: the price times ``found(result)``
    (how many of the queries found something). Answers the result and what it cost."""
    await admit_model(call, settings.RETRIEVAL_MODEL)
    if check is not None:
        await sync_to_async(check)()
    price = await sync_to_async(query_price)()
    plan = await dense_query(call)
    # One reservation covers the queries and, with dense retrieval, their embedding's
    # worst case; the embedding is its own usage event (priced like /v1/embeddings)
    # charged from it.
    await reserve(call, price * len(texts) + await plan.worst_case(texts))
    vectors = await plan.embed_all(call, texts, call.request_id)
    # Off the process's shared sync thread; stopped when the client goes away.
    result = await offload(run, vectors, budget=QueryBudget())
    charged = price * found(result)
    event = usage_event(call, status="ok", http_status=200)
    event.units, event.cost_usd = len(texts), charged
    await record(call, event)
    return result, charged
