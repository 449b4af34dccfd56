"""``POST /v1/responses`` with the ``file_search`` tool, for every routed model.

Portico runs the search itself (the backend retrieval registers, ``gateway.server_tools``):

1. Before anything runs: the body is checked (400), the model resolved and admitted,
   the backend admits the search and refuses another user's vector store (404), and one
   hold covers the model's worst case for both rounds plus ``MAX_QUERIES`` searches (402).
2. Planning: a model whose provider speaks tool calls is offered a ``file_search``
   function and made to call it (one non-streamed round, at most ``PLAN_MAX_TOKENS``);
   each distinct query it asks (at most ``MAX_QUERIES``) is searched. A model that does
   not (the built-in local models), or that makes no usable call, gets one search with the
   user's last message.
3. Answer: the model reads the numbered results (file names and pages) and is asked to
   cite them as ``[n]``; that round is streamed when the request streams.

The response carries a ``file_search_call`` item first (``results`` only with
``include: ["file_search_call.results"]``) and ``file_citation`` annotations for the
``[n]`` markers the model wrote. Streams emit ``response.file_search_call.in_progress``,
``searching`` and ``completed`` (the searches run before the first event, so these come
together) and then the answer's events.

Metering, all under the request's id ``<id>``: the planning round is the usage record
``<id>_plan`` (the model's tokens), each search ``<id>_fs<n>`` (one retrieval query; its
embedding ``<id>_fs<n>_embed``), the answer ``<id>`` (which settles the hold). The
response's ``usage`` is the answer round's.
"""

from __future__ import annotations

from decimal import Decimal

import orjson
from django.http import HttpResponse

from billing.pricing import worst_case_cost
from gateway import proxy
from gateway.adapters import AdapterError, ResponsesStreamTranslator, chat_to_responses_response
from gateway.adapters.responses_file_search import (
    CITE_INSTRUCTIONS,
    MAX_QUERIES,
    SEARCH_FUNCTION,
    SEARCH_FUNCTION_NAME,
    FileSearchResult,
    FileSearchSpec,
    citations,
    file_search_item,
    format_results,
    planned_queries,
    split_file_search,
    user_question,
    with_file_search,
)
from gateway.adapters.responses_object import _item_id, _new_response_id
from gateway.admission import admit, reserve
from gateway.call import Call
from gateway.metering import usage_event
from gateway.server_tools import server_tool
from gateway.upstream import open_chat
from gateway.validation import max_output_tokens, validate_chat
from ground.errors import ApiError
from ground.tokens import (
    WORST_BYTES_PER_TOKEN,
    estimate_messages_tokens,
    estimate_text_tokens,
    worst_case_prompt_tokens,
    worst_text_tokens,
)
from usage.events import emit

PLAN_MAX_TOKENS = 256
MAX_RESULT_CHARS = 1500  # of one passage, as the model reads it
WORST_RESULT_BYTES = MAX_RESULT_CHARS * 4 + 300  # UTF-8 at its widest, plus the header line


async def respond(call: Call, body: dict, spec: FileSearchSpec, chat_body: dict) -> HttpResponse:
    """The Responses answer of ``body`` (whose checked ``file_search`` tool is ``spec``;
    ``chat_body``: the rest as a chat request)."""
    requested = proxy.require_model(chat_body)
    call.requested_model = requested
    validate_chat(chat_body)
    model, deployments = await proxy.resolve_model(call, requested, "llm")
    call.stream = bool(chat_body.get("stream"))
    call.include_usage = call.stream
    messages = chat_body["messages"]
    call.est_prompt = estimate_messages_tokens(messages)
    call.max_output = max_output_tokens(chat_body, model, call.est_prompt)
    await admit(call, call.est_prompt + call.max_output)
    backend = server_tool("file_search", "tools")
    search_price = await backend.prepare(call, spec)
    speaks_tools = any(d.provider.kind != "local" for d in deployments)
    await reserve(
        call, worst_case(model, chat_body, spec, speaks_tools) + MAX_QUERIES * search_price
    )

    calls, queries = [], []
    if speaks_tools:
        calls, queries = await plan(call, model, deployments, chat_body)
    if not queries:
        question = user_question(messages)
        calls, queries = [], [question] if question else []
    found = await run_searches(call, backend, spec, queries)
    sources = [result for results in found for result in results]  # numbered [1], [2], …
    answer_body = dict(chat_body, messages=answer_messages(messages, calls, queries, found))
    call.est_prompt = estimate_messages_tokens(answer_body["messages"])

    response_id = _new_response_id()
    done = file_search_item(
        _item_id("fs", response_id, 0),
        queries,
        "completed",
        sources if spec.include_results else None,
    )
    reply = await proxy.route(
        call,
        deployments,
        lambda d: open_chat(d, answer_body, stream=call.stream, public_model=model.public_id),
    )
    if not call.stream:
        return await proxy.finish_plain(
            call,
            reply,
            answer_tokens,
            lambda chat: with_file_search(
                chat_to_responses_response(chat, request=body, response_id=response_id),
                done,
                sources,
            ),
        )
    translator = ResponsesStreamTranslator(
        request=body,
        model=model.public_id,
        response_id=response_id,
        annotate=lambda text: citations(text, sources),
    )
    head = search_events(translator, done)

    async def events():
        yield head
        async for chunk in proxy.relay(call, reply, translator):
            yield chunk

    return proxy.streaming_response(call, events())


def answer_tokens(payload: dict) -> int:
    """The answer's tokens, estimated, for an upstream that did not report them."""
    message = ((payload.get("choices") or [{}])[0] or {}).get("message") or {}
    return estimate_text_tokens(message.get("content") or "")


def worst_case(model, chat_body: dict, spec: FileSearchSpec, speaks_tools: bool) -> Decimal:
    """The most both rounds can cost: the planning round's prompt and its bounded output,
    and the answer's prompt with every passage the searches may add."""
    context = model.context_window
    prompt = worst_case_prompt_tokens(chat_body, context)
    results = MAX_QUERIES * spec.max_num_results * WORST_RESULT_BYTES // WORST_BYTES_PER_TOKEN
    # The instructions, and the planned calls with their tool messages, on top.
    answer_prompt = prompt + results + worst_text_tokens(CITE_INSTRUCTIONS) + PLAN_MAX_TOKENS
    if context:
        answer_prompt = min(answer_prompt, context)
    total = worst_case_cost(model, answer_prompt, max_output_tokens(chat_body, model, prompt))
    if speaks_tools:
        total += worst_case_cost(
            model, prompt + len(orjson.dumps(SEARCH_FUNCTION)), PLAN_MAX_TOKENS
        )
    return total


async def plan(call: Call, model, deployments, chat_body: dict) -> tuple[list[dict], list[str]]:
    """One round in which the model must call the search function: its calls and their
    distinct queries. A provider that refuses tools (400) plans nothing."""
    plan_body = {
        "model": chat_body["model"],
        "messages": chat_body["messages"],
        "tools": [SEARCH_FUNCTION],
        "tool_choice": {"type": "function", "function": {"name": SEARCH_FUNCTION_NAME}},
        "max_tokens": PLAN_MAX_TOKENS,
    }
    try:
        reply = await proxy.route(
            call,
            deployments,
            lambda d: open_chat(d, plan_body, stream=False, public_model=model.public_id),
        )
    except ApiError as error:
        if error.status != 400:
            raise
        return [], []
    try:
        payload = orjson.loads(reply.body)
    except orjson.JSONDecodeError:
        raise ApiError(
            502, f"{call.deployment.provider.name} sent a response that is not JSON."
        ) from None
    await record_plan(call, payload)
    message = ((payload.get("choices") or [{}])[0] or {}).get("message") or {}
    queries = planned_queries(message)
    calls = []
    for query in queries:  # one call per distinct query, each answered by its results
        calls.append(
            {
                "id": f"call_{call.request_id[-12:]}_{len(calls) + 1}",
                "type": "function",
                "function": {
                    "name": SEARCH_FUNCTION_NAME,
                    "arguments": orjson.dumps({"query": query}).decode(),
                },
            }
        )
    return calls, queries


async def record_plan(call: Call, payload: dict) -> None:
    """The planning round's tokens: a usage record of its own (``<id>_plan``), charged
    directly; the request's hold is settled by the answer's record."""
    counts = proxy.usage_from(payload) or (call.est_prompt, PLAN_MAX_TOKENS, 0)
    event = usage_event(
        call,
        status="ok",
        http_status=200,
        prompt=counts[0],
        completion=counts[1],
        cached=counts[2],
        reported=proxy.usage_from(payload) is not None,
    )
    event.request_id = f"{call.request_id}_plan"
    await emit(event)


async def run_searches(
    call: Call, backend, spec: FileSearchSpec, queries: list[str]
) -> list[list[FileSearchResult]]:
    """Each query's results (passages trimmed to what the model reads), each search
    metered as ``<id>_fs<n>``."""
    found = []
    for number, query in enumerate(queries, start=1):
        hits = await backend.search(call, spec, query, f"{call.request_id}_fs{number}")
        found.append([trimmed(hit) for hit in hits])
    return found


def trimmed(hit: FileSearchResult) -> FileSearchResult:
    if len(hit.text) <= MAX_RESULT_CHARS:
        return hit
    return FileSearchResult(**{**hit.__dict__, "text": hit.text[:MAX_RESULT_CHARS] + "…"})


def answer_messages(
    messages: list[dict], calls: list[dict], queries: list[str], found: list[list[FileSearchResult]]
) -> list[dict]:
    """The conversation with the numbered results and the request to cite them: as the
    planned calls' tool results, or (no calls) as a system message."""
    out = [{"role": "system", "content": CITE_INSTRUCTIONS}, *messages]
    numbered, first = [], 1
    for results in found:
        numbered.append(format_results(results, first))
        first += len(results)
    if calls:
        out.append({"role": "assistant", "content": None, "tool_calls": calls})
        for tool_call, text in zip(calls, numbered, strict=True):
            out.append({"role": "tool", "tool_call_id": tool_call["id"], "content": text})
    elif queries:
        out[0] = {
            "role": "system",
            "content": f"{CITE_INSTRUCTIONS}\n\nFile search results for {queries[0]!r}:\n\n{numbered[0]}",
        }
    return out


def search_events(translator: ResponsesStreamTranslator, done: dict) -> bytes:
    """The search's item and progress events, in order, before the answer's."""
    item_id = done["id"]
    started = dict(done, status="in_progress", queries=[], results=None)
    added, index = translator.open_item(started)
    return b"".join(
        [
            added,
            translator.item_event("response.file_search_call.in_progress", item_id, index),
            translator.item_event("response.file_search_call.searching", item_id, index),
            translator.item_event("response.file_search_call.completed", item_id, index),
            translator.close_item(done, index),
        ]
    )


def split(body: dict) -> tuple[FileSearchSpec | None, dict]:
    """The checked ``file_search`` tool of a Responses request (``None`` without one) and
    the request without it; bad tool parameters are a 400 in OpenAI's error shape."""
    try:
        return split_file_search(body)
    except AdapterError as exc:
        raise ApiError(400, exc.message, param=exc.param, code=exc.code) from None
