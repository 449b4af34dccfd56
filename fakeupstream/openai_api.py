"""OpenAI routes: chat completions (plain and SSE) and embeddings."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import orjson

from fakeupstream import tokens as tk
from fakeupstream.common import Ctx, gate, stream_tokens, token_template

FINGERPRINT = "fp_fakeupstream"
MAX_DIMENSIONS = 65536
_FINISH = {"stop": "stop", "stop_sequence": "stop", "length": "length"}


def _max_tokens(payload: dict[str, Any]) -> tuple[int | None, str | None]:
    for key in ("max_completion_tokens", "max_tokens"):
        value = payload.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return None, f"{key} must be a non-negative integer"
        return value, None
    return None, None


def _stops(payload: dict[str, Any]) -> list[str]:
    stop = payload.get("stop")
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list):
        return [s for s in stop if isinstance(s, str)]
    return []


async def chat_completions(ctx: Ctx) -> None:
    payload = ctx.payload
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        await ctx.error(400, "messages must be a non-empty array")
        return
    max_tokens, problem = _max_tokens(payload)
    if problem:
        await ctx.error(400, problem)
        return
    plan = tk.plan_completion(
        ctx.knobs["completion_tokens"], max_tokens, _stops(payload), ctx.knobs["completion_text"]
    )
    # extra_prompt_tokens: a provider that bills input Portico cannot see (a surprise).
    prompt_tokens = tk.messages_tokens(messages) + ctx.knobs["extra_prompt_tokens"]
    call = tool_call(payload, ctx.knobs)
    if payload.get("stream"):
        options = payload.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        if await gate(ctx):
            await _stream_chat(ctx, plan, prompt_tokens, include_usage, call)
        return
    generation_ms = ctx.knobs["token_interval_ms"] * max(len(plan.tokens) - 1, 0)
    if await gate(ctx, extra_delay_ms=generation_ms):
        await _complete_chat(ctx, plan, prompt_tokens, call)


def tool_call(payload: dict[str, Any], knobs: dict[str, Any]) -> dict[str, Any] | None:
    """The function call the fake makes instead of text, or ``None``.

    It calls a tool when the request offers ``tools`` and ``tool_choice`` forces one
    (``"required"`` or a named function); with the knob ``tool_calls: "auto"`` also
    whenever the last message is not a tool result; with ``"always"`` every time tools
    are offered; with ``"never"`` not at all (a model that ignores tools). The function is the named one, else the first offered. Its
    arguments are the knob ``tool_arguments``, else every required string parameter set
    to the last user message's text."""
    tools = [t for t in payload.get("tools") or () if isinstance(t, dict)]
    functions = [t["function"] for t in tools if isinstance(t.get("function"), dict)]
    mode, choice = knobs["tool_calls"], payload.get("tool_choice")
    messages = payload.get("messages") or [{}]
    last = messages[-1] if isinstance(messages[-1], dict) else {}
    named = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    forced = choice == "required" or named is not None
    if not functions or mode == "never" or choice == "none":
        return None
    if not forced and mode != "always" and (mode != "auto" or last.get("role") == "tool"):
        return None
    function = next((f for f in functions if f.get("name") == named), functions[0])
    arguments = knobs["tool_arguments"]
    if arguments is None:
        asked = next(
            (
                m.get("content")
                for m in reversed(messages)
                if isinstance(m, dict) and m.get("role") == "user"
            ),
            "",
        )
        text = (
            asked
            if isinstance(asked, str)
            else " ".join(p.get("text", "") for p in asked or () if isinstance(p, dict))
        )
        schema = function.get("parameters") or {}
        properties = schema.get("properties") or {}
        arguments = {
            name: text
            for name in schema.get("required") or ()
            if (properties.get(name) or {}).get("type") == "string"
        }
    return {
        "id": "call_" + hashlib.blake2b(orjson.dumps(arguments), digest_size=12).hexdigest(),
        "type": "function",
        "function": {
            "name": function.get("name") or "",
            "arguments": orjson.dumps(arguments).decode(),
        },
    }


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


async def _complete_chat(
    ctx: Ctx, plan: tk.Completion, prompt_tokens: int, call: dict[str, Any] | None = None
) -> None:
    completion_tokens = len(plan.tokens) if call is None else tk.text_tokens(_arguments(call))
    ctx.state.tally.prompt(ctx.model, prompt_tokens)
    ctx.state.tally.completion(ctx.model, completion_tokens)
    message: dict[str, Any] = {"role": "assistant", "content": plan.text, "refusal": None}
    finish = _FINISH[plan.finish]
    if call is not None:
        message["content"], message["tool_calls"], finish = None, [call], "tool_calls"
    await ctx.conn.json(
        200,
        {
            "id": f"chatcmpl-fake{ctx.next_id():012d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": ctx.model,
            "system_fingerprint": FINGERPRINT,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
            "usage": _usage(prompt_tokens, completion_tokens),
        },
    )


def _arguments(call: dict[str, Any]) -> str:
    return call["function"]["arguments"]


async def _stream_chat(
    ctx: Ctx,
    plan: tk.Completion,
    prompt_tokens: int,
    include_usage: bool,
    call: dict[str, Any] | None = None,
) -> None:
    base: dict[str, Any] = {
        "id": f"chatcmpl-fake{ctx.next_id():012d}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": ctx.model,
        "system_fingerprint": FINGERPRINT,
    }
    if include_usage:
        base["usage"] = None  # like OpenAI: every chunk carries usage: null until the last

    def event(delta: dict[str, Any], finish: str | None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return b"data: " + orjson.dumps({**base, "choices": [choice]}) + b"\n\n"

    conn = ctx.conn
    await conn.start_stream()
    ctx.state.tally.prompt(ctx.model, prompt_tokens)
    if call is not None:  # the whole call in one delta, then its finish
        used = tk.text_tokens(_arguments(call))
        ctx.state.tally.completion(ctx.model, used)
        head = event(
            {"role": "assistant", "content": None, "tool_calls": [{"index": 0, **call}]}, None
        )
        tail = event({}, "tool_calls")
        if include_usage:
            usage = {**base, "choices": [], "usage": _usage(prompt_tokens, used)}
            tail += b"data: " + orjson.dumps(usage) + b"\n\n"
        await conn.end_stream(head + tail + b"data: [DONE]\n\n")
        return
    head = event({"role": "assistant", "content": "", "refusal": None}, None)
    render = token_template(lambda t: event({"content": t}, None))
    sent = await stream_tokens(ctx, head, plan.tokens, render)
    if sent is None:
        return
    tail = event({}, _FINISH[plan.finish])
    if include_usage:
        usage = {**base, "choices": [], "usage": _usage(prompt_tokens, sent)}
        tail += b"data: " + orjson.dumps(usage) + b"\n\n"
    await conn.end_stream(tail + b"data: [DONE]\n\n")


# --- embeddings ----------------------------------------------------------------------------


async def embeddings(ctx: Ctx) -> None:
    payload = ctx.payload
    inputs = tk.normalize_embedding_input(payload.get("input"))
    if inputs is None:
        await ctx.error(400, "input must be a string, an array of strings or of token ids")
        return
    dims = payload.get("dimensions", ctx.knobs["embedding_dims"])
    if isinstance(dims, bool) or not isinstance(dims, int) or not 1 <= dims <= MAX_DIMENSIONS:
        await ctx.error(400, f"dimensions must be an integer from 1 to {MAX_DIMENSIONS}")
        return
    encoding = payload.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        await ctx.error(400, "encoding_format must be 'float' or 'base64'")
        return
    if not await gate(ctx):
        return
    data = []
    prompt_tokens = 0
    for index, item in enumerate(inputs):
        vector = tk.embedding_vector(item, dims)
        prompt_tokens += tk.embedding_input_tokens(item)
        value: Any = tk.embedding_base64(vector) if encoding == "base64" else vector
        data.append({"object": "embedding", "index": index, "embedding": value})
    ctx.state.tally.prompt(ctx.model, prompt_tokens)
    await ctx.conn.json(
        200,
        {
            "object": "list",
            "data": data,
            "model": ctx.model,
            "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
        },
    )
