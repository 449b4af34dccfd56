"""The gateway's /v1 endpoints: chat completions, responses, embeddings, models, usage, wallet.

Every view wears ``@v1(scope)`` (``gateway.admission``): the same authentication, rate-limit
step, headers and refusal handling for all of them. ``/v1/usage`` and ``/v1/wallet`` live
here rather than in ``usage``/``billing`` because admission sits above those apps.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from ninja import Router

from billing.pricing import worst_case_cost
from billing.wallets import wallet_summary
from catalog.snapshots import get_catalog
from catalog.stats import model_stats
from gateway import file_search, proxy
from gateway.adapters import (
    AdapterError,
    ResponsesStreamTranslator,
    chat_to_responses_response,
    responses_to_chat_request,
)
from gateway.admission import admit, reserve, v1
from gateway.call import Call
from gateway.catalog_views import catalog_entry, model_list_entry, usable_models
from gateway.openai_schemas import (
    ChatCompletion,
    ChatCompletionRequest,
    EmbeddingList,
    EmbeddingRequest,
    Response,
    ResponseRequest,
)
from gateway.schemas import Catalog, CatalogQuery, ModelList, ModelObject, UsagePage, UsageQuery
from gateway.schemas import Wallet as WalletAnswer
from gateway.upstream import open_chat, open_embeddings
from gateway.validation import max_output_tokens, validate_chat, validate_embeddings
from ground.bodies import json_body, parse_query, query_parameters
from ground.errors import ApiError
from ground.tokens import (
    estimate_input_tokens,
    estimate_messages_tokens,
    estimate_text_tokens,
    worst_case_input_tokens,
    worst_case_prompt_tokens,
)
from usage.records import usage_page

router = Router(tags=["LLM"])


def hot_body(model, stream: str | None = None) -> dict:
    """``openapi_extra`` for a hot-path route: its body described by ``model`` (read by the
    fast parser, not by the model), and with ``stream`` the event stream it may answer."""
    extra = json_body(model)
    if stream:
        events = {"schema": {"type": "string", "description": stream}}
        extra["responses"] = {200: {"content": {"text/event-stream": events}}}
    return extra


def completion_tokens_of(payload: dict) -> int:
    total = 0
    for choice in payload.get("choices") or []:
        message = choice.get("message") or {}
        total += estimate_text_tokens(message.get("content") or "")
        for call in message.get("tool_calls") or []:
            total += estimate_text_tokens(str((call.get("function") or {}).get("arguments", "")))
    return total


async def run_chat(call: Call, body: dict, *, translator_factory=None, shape=None) -> HttpResponse:
    """The chat pipeline shared by /chat/completions, /responses and the playground."""
    requested = proxy.require_model(body)
    call.requested_model = requested
    validate_chat(body)
    model, deployments = await proxy.resolve_model(call, requested, "llm")
    call.stream = bool(body.get("stream"))
    call.include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    call.est_prompt = estimate_messages_tokens(body["messages"])
    call.max_output = max_output_tokens(body, model, call.est_prompt)
    await admit(call, call.est_prompt + call.max_output)
    worst_prompt = worst_case_prompt_tokens(body, model.context_window)
    await reserve(call, worst_case_cost(model, worst_prompt, call.max_output))
    reply = await proxy.route(
        call,
        deployments,
        lambda d: open_chat(d, body, stream=call.stream, public_model=model.public_id),
    )
    if call.stream:
        translator = translator_factory(model.public_id) if translator_factory else None
        return proxy.streaming_response(call, proxy.relay(call, reply, translator))
    return await proxy.finish_plain(call, reply, completion_tokens_of, shape)


@router.post(
    "/chat/completions",
    openapi_extra=hot_body(
        ChatCompletionRequest,
        stream="With `stream: true`: `chat.completion.chunk` events, then `data: [DONE]`.",
    ),
    response=ChatCompletion,
    summary="Create a chat completion",
)
@v1("chat", endpoint="chat.completions", admit_now=False)
async def chat_completions(request: HttpRequest, call: Call) -> HttpResponse:
    """OpenAI-compatible chat completions; `stream: true` answers Server-Sent Events ending in `data: [DONE]`."""
    return await run_chat(call, proxy.parse_json_body(request))


@router.post(
    "/responses",
    openapi_extra=hot_body(
        ResponseRequest,
        stream="With `stream: true`: `response.created`, `response.output_text.delta`, …, "
        "`response.completed`.",
    ),
    response=Response,
    summary="Create a response (Responses API)",
)
@v1("chat", endpoint="responses", admit_now=False)
async def responses(request: HttpRequest, call: Call) -> HttpResponse:
    """The Responses surface, served through each provider's chat completions; the
    `file_search` tool searches your vector stores (`gateway.file_search`)."""
    return await run_responses(call, proxy.parse_json_body(request))


async def run_responses(call: Call, body: dict) -> HttpResponse:
    """The Responses pipeline shared by /responses and the playground's "Chat with your
    documents" (its ``file_search`` tool included)."""
    proxy.require_model(body)
    spec, rest = file_search.split(body)
    try:
        chat_body = responses_to_chat_request(rest)
    except AdapterError as exc:
        raise ApiError(400, exc.message, param=exc.param, code=exc.code) from None
    if spec is not None and rest.get("tool_choice") != "none":
        return await file_search.respond(call, body, spec, chat_body)
    if chat_body.get("stream"):
        chat_body["stream_options"] = {"include_usage": True}
    return await run_chat(
        call,
        chat_body,
        translator_factory=lambda model: ResponsesStreamTranslator(request=body, model=model),
        shape=lambda chat: chat_to_responses_response(chat, request=body),
    )


@router.post(
    "/embeddings",
    openapi_extra=hot_body(EmbeddingRequest),
    response=EmbeddingList,
    summary="Create embeddings",
)
@v1("embeddings", endpoint="embeddings", admit_now=False)
async def embeddings(request: HttpRequest, call: Call) -> HttpResponse:
    """`input` as a string or an array; `encoding_format` float or base64; `dimensions`."""
    body = proxy.parse_json_body(request)
    requested = proxy.require_model(body)
    call.requested_model = requested
    validate_embeddings(body)
    model, deployments = await proxy.resolve_model(call, requested, "embedding")
    call.est_prompt = estimate_input_tokens(body["input"])
    await admit(call, call.est_prompt)
    await reserve(call, worst_case_cost(model, worst_case_input_tokens(body["input"]), 0))
    reply = await proxy.route(
        call, deployments, lambda d: open_embeddings(d, body, public_model=model.public_id)
    )
    return await proxy.finish_plain(call, reply, lambda payload: 0)


@router.get("/models", response=ModelList, summary="List the models this key may use")
@v1("models")
async def list_models(request: HttpRequest, call: Call) -> HttpResponse:
    data = [model_list_entry(m) for m in await usable_models(call.ctx)]
    return proxy.json_response({"object": "list", "data": data})


def matches(entry: dict, model, provider: str, needle: str) -> bool:
    if provider and provider.lower() not in {p.lower() for p in model.providers} | {
        d.provider.label.lower() for d in model.deployments
    }:
        return False
    text = " ".join([model.public_id, model.name, entry["provider"], *model.providers]).lower()
    return not needle or needle in text


@router.get(
    "/models/catalog",
    openapi_extra=query_parameters(CatalogQuery),
    response=Catalog,
    summary="The model catalog with prices and measured latency",
)
@v1("models")
async def model_catalog(request: HttpRequest, call: Call) -> HttpResponse:
    options = parse_query(request, CatalogQuery)
    provider, search = options.provider, options.search
    catalog = await get_catalog()
    stats = await sync_to_async(model_stats)(24)
    recent = await sync_to_async(model_stats)(1)
    needle = search.strip().lower()
    data = []
    for m in sorted(catalog.models.values(), key=lambda m: m.public_id):
        if not m.deployments or m.type not in ("llm", "embedding"):
            continue
        entry = catalog_entry(
            m, stats.get(m.public_id), recent.get(m.public_id), call.ctx.allows_model(m.public_id)
        )
        if matches(entry, m, provider, needle):
            data.append(entry)
    return proxy.json_response({"object": "list", "data": data})


# After /models/catalog: URL patterns match in order, and ids may contain "/".
@router.get("/models/{path:model_id}", response=ModelObject, summary="One model this key may use")
@v1("models")
async def retrieve_model(request: HttpRequest, call: Call, model_id: str) -> HttpResponse:
    """The official SDKs' ``models.retrieve``: the same object as an entry of ``/models``.
    Any id chat accepts is found (``provider/model`` too); a model the key may not use is
    404, as if it did not exist."""
    resolved = (await get_catalog()).resolve(model_id)
    model = resolved[0] if resolved and resolved[1] else None
    if (
        model is None
        or model.type not in ("llm", "embedding")
        or not call.ctx.allows_model(model.public_id)
    ):
        raise ApiError(
            404, f"The model '{model_id}' does not exist.", code="model_not_found", param="model"
        )
    return proxy.json_response(model_list_entry(model))


@router.get(
    "/usage",
    openapi_extra=query_parameters(UsageQuery),
    response=UsagePage,
    summary="Your usage records, newest first",
    tags=["Usage"],
)
@v1("usage")
async def list_usage(request: HttpRequest, call: Call) -> HttpResponse:
    options = parse_query(request, UsageQuery)
    page = await sync_to_async(usage_page)(
        call.ctx.owner_id,
        model=options.model,
        limit=options.limit,
        after=options.after,
        place=(call.ctx.organization_id, call.ctx.project_id),
    )
    return proxy.json_response(page)


@router.get(
    "/wallet",
    response=WalletAnswer,
    summary="Your prepaid balance, open holds and available funds",
    tags=["Usage"],
)
@v1("usage")
async def wallet(request: HttpRequest, call: Call) -> HttpResponse:
    summary = await sync_to_async(wallet_summary)(
        call.ctx.organization_id, project_id=call.ctx.project_id
    )
    return proxy.json_response(summary)
