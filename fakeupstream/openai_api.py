"""OpenAI routes: chat completions (plain and SSE) and embeddings."""

from __future__ import annotations

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
    plan = tk.plan_completion(ctx.knobs["completion_tokens"], max_tokens, _stops(payload))
    # extra_prompt_tokens: a provider that bills input Portico cannot see (a surprise).
    prompt_tokens = tk.messages_tokens(messages) + ctx.knobs["extra_prompt_tokens"]
    if payload.get("stream"):
        options = payload.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        if await gate(ctx):
            await _stream_chat(ctx, plan, prompt_tokens, include_usage)
        return
    generation_ms = ctx.knobs["token_interval_ms"] * max(len(plan.tokens) - 1, 0)
    if await gate(ctx, extra_delay_ms=generation_ms):
        await _complete_chat(ctx, plan, prompt_tokens)


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


async def _complete_chat(ctx: Ctx, plan: tk.Completion, prompt_tokens: int) -> None:
    completion_tokens = len(plan.tokens)
    ctx.state.tally.prompt(ctx.model, prompt_tokens)
    ctx.state.tally.completion(ctx.model, completion_tokens)
    message = {"role": "assistant", "content": plan.text, "refusal": None}
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
                    "finish_reason": _FINISH[plan.finish],
                }
            ],
            "usage": _usage(prompt_tokens, completion_tokens),
        },
    )


async def _stream_chat(
    ctx: Ctx, plan: tk.Completion, prompt_tokens: int, include_usage: bool
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
