"""``POST /v1/responses`` with the ``file_search`` tool, for every routed model.

Portico runs the search itself (the backend retrieval registers, ``gateway.server_tools``):

1. Before anything runs: the body is checked (400), the model resolved and admitted,
   the backend admits the search and refuses another user's vector store (404), and one
   hold covers the model's worst case for every round plus ``MAX_QUERIES`` searches (402).
2. Planning: a model whose provider speaks tool calls is offered a ``file_search``
   function and made to call it (one non-streamed round, at most ``PLAN_MAX_TOKENS``);
   each distinct query it asks is searched. A model that does not (the built-in local
   models), or that makes no usable call, gets one search with the user's last message.
3. Answer: the model reads the numbered results (file names and pages) and is asked to
   cite them as ``[n]``. A model that planned is offered the function once more: if it
   only asks for searches, the fresh queries are searched (at most ``MAX_QUERIES`` in
   all) and a last round, without the function, answers. The answering round is
   streamed when the request streams (a stream that turns out to be search calls is read
   to its end, never relayed). At most three model rounds.

The response carries a ``file_search_call`` item first (``results`` only with
``include: ["file_search_call.results"]``) and ``file_citation`` annotations for the
``[n]`` markers the model wrote. Streams emit ``response.file_search_call.in_progress``,
``searching`` and ``completed`` (the searches run before the first event, so these come
together) and then the answer's events.

Metering, all under the request's id ``<id>``: the rounds that asked for searches are
the usage records ``<id>_plan`` and ``<id>_plan2`` (the model's tokens), each search
``<id>_fs<n>`` (one retrieval query; its embedding ``<id>_fs<n>_embed``), the answer
``<id>`` (which settles the hold); every part is charged from the request's reservation.
The response's ``usage`` counts every round: the planning rounds' tokens plus the
answer's, exactly what the token records add up to.
"""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpResponse

from billing.pricing import worst_case_cost
from gateway import proxy
from gateway.adapters import AdapterError, ResponsesStreamTranslator, chat_to_responses_response
from gateway.adapters.responses_file_search import (
    CITE_INSTRUCTIONS,
    MAX_QUERIES,
    SEARCH_FUNCTION,
    FileSearchSpec,
    citations,
    file_search_item,
    split_file_search,
    user_question,
    with_file_search,
)
from gateway.adapters.responses_object import _item_id, _new_response_id, with_earlier_usage
from gateway.admission import admit, reserve
from gateway.call import Call
from gateway.file_search_rounds import (
    MAX_RESULT_CHARS,
    PLAN_MAX_TOKENS,
    Searches,
    forced_plan,
    more_searches,
)
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

WORST_RESULT_BYTES = MAX_RESULT_CHARS * 4 + 300  # UTF-8 at its widest, plus the header line
ANSWER_ROUNDS = 2  # after the planning round: one that may search again, one that may not


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

    searches = Searches(call, backend, spec, messages)
    planned = speaks_tools and await forced_plan(searches, model, deployments, chat_body)
    if not planned:
        question = user_question(messages)
        if question:
            await searches.search_input(question)
    reply = await answer(searches, model, deployments, chat_body, may_search=planned)

    sources = searches.sources
    response_id = _new_response_id()
    done = file_search_item(
        _item_id("fs", response_id, 0),
        searches.queries,
        "completed",
        sources if spec.include_results else None,
    )
    if not call.stream:
        return await proxy.finish_plain(
            call,
            reply,
            answer_tokens,
            lambda chat: with_file_search(
                chat_to_responses_response(
                    dict(chat, usage=with_earlier_usage(chat.get("usage"), searches.used)),
                    request=body,
                    response_id=response_id,
                ),
                done,
                sources,
            ),
        )
    translator = ResponsesStreamTranslator(
        request=body,
        model=model.public_id,
        response_id=response_id,
        annotate=lambda text: citations(text, sources),
        earlier_usage=searches.used,
    )
    head = search_events(translator, done)

    async def events():
        yield head
        async for chunk in proxy.relay(call, reply, translator):
            yield chunk

    return proxy.streaming_response(call, events())


async def answer(searches: Searches, model, deployments, chat_body: dict, *, may_search: bool):
    """The answer's upstream reply. A model that planned its searches is offered the
    search function once more (it may refine its queries) before a last round without it;
    the round that answers is the reply, streamed when the request streams."""
    call = searches.call
    for number in range(ANSWER_ROUNDS):
        offer = may_search and number < ANSWER_ROUNDS - 1 and len(searches.queries) < MAX_QUERIES
        body = dict(chat_body, messages=searches.conversation())
        if offer:
            body["tools"] = [SEARCH_FUNCTION, *(chat_body.get("tools") or ())]
        call.est_prompt = estimate_messages_tokens(body["messages"])
        reply = await proxy.route(
            call,
            deployments,
            lambda d, body=body: open_chat(
                d, body, stream=call.stream, public_model=model.public_id
            ),
        )
        if not offer:
            return reply
        queries, reply = await more_searches(searches, reply, call.stream)
        if queries is None:
            return reply
        await searches.answer_calls(queries)
    raise AssertionError("the last round offers no search")  # pragma: no cover


def answer_tokens(payload: dict) -> int:
    """The answer's tokens, estimated, for an upstream that did not report them."""
    message = ((payload.get("choices") or [{}])[0] or {}).get("message") or {}
    return estimate_text_tokens(message.get("content") or "")


def worst_case(model, chat_body: dict, spec: FileSearchSpec, speaks_tools: bool) -> Decimal:
    """The most all rounds can cost: the planning round's prompt and its bounded output,
    and (twice, with a model that may search again) the answer's prompt with every passage
    the searches may add."""
    context = model.context_window
    prompt = worst_case_prompt_tokens(chat_body, context)
    results = MAX_QUERIES * spec.max_num_results * WORST_RESULT_BYTES // WORST_BYTES_PER_TOKEN
    # The instructions, the search function, and the calls with their tool messages.
    extra = worst_text_tokens(CITE_INSTRUCTIONS) + worst_text_tokens(SEARCH_FUNCTION)
    answer_prompt = prompt + results + extra + MAX_QUERIES * PLAN_MAX_TOKENS
    if context:
        answer_prompt = min(answer_prompt, context)
    answer_cost = worst_case_cost(model, answer_prompt, max_output_tokens(chat_body, model, prompt))
    if not speaks_tools:
        return answer_cost
    plan_cost = worst_case_cost(model, prompt + extra, PLAN_MAX_TOKENS)
    return plan_cost + ANSWER_ROUNDS * answer_cost


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
