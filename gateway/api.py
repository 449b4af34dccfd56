"""The gateway's /v1 endpoints: chat completions, responses, embeddings, models, usage."""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from ninja import Router

from gateway import proxy
from gateway.adapters import (
    AdapterError,
    ResponsesStreamTranslator,
    chat_to_responses_response,
    responses_to_chat_request,
)
from gateway.auth import authenticate
from gateway.catalog_views import catalog_entry, model_list_entry
from gateway.proxy import ApiError, Call
from gateway.snapshots import get_catalog
from gateway.upstream import open_chat, open_embeddings
from gateway.usage import usage_page
from gateway.validation import max_output_tokens, validate_chat, validate_embeddings
from portal.lib.tokens import estimate_input_tokens, estimate_messages_tokens, estimate_text_tokens

router = Router(tags=["LLM"])

JSON_BODY = {
    "requestBody": {
        "content": {"application/json": {"schema": {"type": "object"}}},
        "required": True,
    }
}


def completion_tokens_of(payload: dict) -> int:
    total = 0
    for choice in payload.get("choices") or []:
        message = choice.get("message") or {}
        total += estimate_text_tokens(message.get("content") or "")
        for call in message.get("tool_calls") or []:
            total += estimate_text_tokens(str((call.get("function") or {}).get("arguments", "")))
    return total


async def run_chat(
    call: Call, request: HttpRequest, body: dict, *, translator_factory=None, shape=None
) -> HttpResponse:
    """The chat pipeline shared by /chat/completions, /responses and the playground."""
    try:
        requested = proxy.require_model(body)
        call.requested_model = requested
        validate_chat(body)
        model, deployments = await proxy.resolve_model(call, requested, "llm")
        call.stream = bool(body.get("stream"))
        call.include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        call.est_prompt = estimate_messages_tokens(body["messages"])
        call.max_output = max_output_tokens(body, model, call.est_prompt)
        await proxy.admit(call, call.est_prompt + call.max_output)
        await proxy.reserve(call)
        reply = await proxy.route(
            call,
            deployments,
            lambda d: open_chat(d, body, stream=call.stream, public_model=model.public_id),
        )
    except ApiError as error:
        await proxy.record_error(call, error)
        raise
    except asyncio.CancelledError:
        proxy.record_cancelled(call)
        raise
    if call.stream:
        translator = translator_factory(model.public_id) if translator_factory else None
        return proxy.streaming_response(call, proxy.relay(call, reply, translator))
    return await proxy.finish_plain(call, reply, completion_tokens_of, shape)


@router.post("/chat/completions", openapi_extra=JSON_BODY, summary="Create a chat completion")
async def chat_completions(request: HttpRequest) -> HttpResponse:
    """OpenAI-compatible chat completions; `stream: true` answers Server-Sent Events ending in `data: [DONE]`."""
    call = await proxy.begin(request, "chat", "chat.completions")
    try:
        body = proxy.parse_json_body(request)
    except ApiError as error:
        await proxy.record_error(call, error)
        raise
    return await run_chat(call, request, body)


@router.post("/responses", openapi_extra=JSON_BODY, summary="Create a response (Responses API)")
async def responses(request: HttpRequest) -> HttpResponse:
    """The Responses surface, served through each provider's chat completions."""
    call = await proxy.begin(request, "chat", "responses")
    try:
        body = proxy.parse_json_body(request)
        proxy.require_model(body)
        chat_body = responses_to_chat_request(body)
    except AdapterError as exc:
        error = ApiError(400, exc.message, param=exc.param, code=exc.code)
        await proxy.record_error(call, error)
        raise error from None
    except ApiError as error:
        await proxy.record_error(call, error)
        raise
    if chat_body.get("stream"):
        chat_body["stream_options"] = {"include_usage": True}
    return await run_chat(
        call,
        request,
        chat_body,
        translator_factory=lambda model: ResponsesStreamTranslator(request=body, model=model),
        shape=lambda chat: chat_to_responses_response(chat, request=body),
    )


@router.post("/embeddings", openapi_extra=JSON_BODY, summary="Create embeddings")
async def embeddings(request: HttpRequest) -> HttpResponse:
    """`input` as a string or an array; `encoding_format` float or base64; `dimensions`."""
    call = await proxy.begin(request, "embeddings", "embeddings")
    try:
        body = proxy.parse_json_body(request)
        requested = proxy.require_model(body)
        call.requested_model = requested
        validate_embeddings(body)
        model, deployments = await proxy.resolve_model(call, requested, "embedding")
        call.est_prompt = estimate_input_tokens(body["input"])
        await proxy.admit(call, call.est_prompt)
        await proxy.reserve(call)
        reply = await proxy.route(
            call, deployments, lambda d: open_embeddings(d, body, public_model=model.public_id)
        )
    except ApiError as error:
        await proxy.record_error(call, error)
        raise
    except asyncio.CancelledError:
        proxy.record_cancelled(call)
        raise
    return await proxy.finish_plain(call, reply, lambda payload: 0)


@router.get("/models", summary="List the models this key may use")
async def list_models(request: HttpRequest) -> HttpResponse:
    ctx = await authenticate(request, "models")
    call = Call(ctx=ctx, endpoint="none")
    await proxy.admit(call, 0)
    catalog = await get_catalog()
    data = [
        model_list_entry(m)
        for m in catalog.models.values()
        if m.type in ("llm", "embedding") and m.deployments and ctx.allows_model(m.public_id)
    ]
    return proxy.with_headers(proxy.json_response({"object": "list", "data": data}), call)


@router.get("/models/catalog", summary="The model catalog with prices and measured latency")
async def model_catalog(request: HttpRequest, provider: str = "", search: str = "") -> HttpResponse:
    ctx = await authenticate(request, "models")
    call = Call(ctx=ctx, endpoint="none")
    await proxy.admit(call, 0)
    catalog = await get_catalog()
    from gateway.stats import model_stats

    stats = await sync_to_async(model_stats)(24)
    recent = await sync_to_async(model_stats)(1)
    needle = search.strip().lower()
    data = []
    for m in sorted(catalog.models.values(), key=lambda m: m.public_id):
        if not m.deployments or m.type not in ("llm", "embedding"):
            continue
        if provider and provider.lower() not in {p.lower() for p in m.providers} | {
            d.provider.label.lower() for d in m.deployments
        }:
            continue
        entry = catalog_entry(
            m, stats.get(m.public_id), recent.get(m.public_id), ctx.allows_model(m.public_id)
        )
        if (
            needle
            and needle
            not in " ".join([m.public_id, m.name, entry["provider"], *m.providers]).lower()
        ):
            continue
        data.append(entry)
    return proxy.with_headers(proxy.json_response({"object": "list", "data": data}), call)


@router.get("/usage", summary="Your usage records, newest first", tags=["Usage"])
async def list_usage(
    request: HttpRequest, model: str = "", limit: int = 20, after: str = ""
) -> HttpResponse:
    ctx = await authenticate(request, "usage")
    call = Call(ctx=ctx, endpoint="none")
    await proxy.admit(call, 0)
    if not 1 <= limit <= 100:
        raise ApiError(
            400,
            "'limit' must be between 1 and 100.",
            param="limit",
            code="invalid_parameter",
            headers=call.headers,
        )
    page = await sync_to_async(usage_page)(ctx.owner_id, model=model, limit=limit, after=after)
    return proxy.with_headers(proxy.json_response(page), call)
