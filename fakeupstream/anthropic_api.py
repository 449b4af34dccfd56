"""Anthropic Messages API: ``POST /v1/messages`` (plain and the real SSE event sequence)."""

from __future__ import annotations

from typing import Any

import orjson

from fakeupstream import tokens as tk
from fakeupstream.common import Ctx, gate, stream_tokens, token_template

_STOP_REASON = {"stop": "end_turn", "length": "max_tokens", "stop_sequence": "stop_sequence"}


def _problem(payload: dict[str, Any]) -> str | None:
    max_tokens = payload.get("max_tokens")
    if max_tokens is None:
        return "max_tokens: Field required"
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        return "max_tokens: must be a positive integer"
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    stops = payload.get("stop_sequences")
    if stops is not None and (
        not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)
    ):
        return "stop_sequences: must be a list of strings"
    return None


async def messages(ctx: Ctx) -> None:
    payload = ctx.payload
    problem = _problem(payload)
    if problem:
        await ctx.error(400, problem)
        return
    plan = tk.plan_completion(
        ctx.knobs["completion_tokens"], payload["max_tokens"], payload.get("stop_sequences") or ()
    )
    input_tokens = tk.anthropic_input_tokens(payload.get("system"), payload["messages"])
    if payload.get("stream"):
        if await gate(ctx):
            await _stream_message(ctx, plan, input_tokens)
        return
    generation_ms = ctx.knobs["token_interval_ms"] * max(len(plan.tokens) - 1, 0)
    if await gate(ctx, extra_delay_ms=generation_ms):
        await _complete_message(ctx, plan, input_tokens)


def _message_id(ctx: Ctx) -> str:
    return f"msg_fake{ctx.next_id():016d}"


async def _complete_message(ctx: Ctx, plan: tk.Completion, input_tokens: int) -> None:
    output_tokens = len(plan.tokens)
    ctx.state.tally.prompt(ctx.model, input_tokens)
    ctx.state.tally.completion(ctx.model, output_tokens)
    await ctx.conn.json(
        200,
        {
            "id": _message_id(ctx),
            "type": "message",
            "role": "assistant",
            "model": ctx.model,
            "content": [{"type": "text", "text": plan.text}],
            "stop_reason": _STOP_REASON[plan.finish],
            "stop_sequence": plan.stop_sequence,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        },
        [(b"request-id", f"req_fake{ctx.next_id():016d}".encode())],
    )


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def _stream_message(ctx: Ctx, plan: tk.Completion, input_tokens: int) -> None:
    conn = ctx.conn
    message = {
        "id": _message_id(ctx),
        "type": "message",
        "role": "assistant",
        "model": ctx.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
    }
    await conn.start_stream()
    ctx.state.tally.prompt(ctx.model, input_tokens)
    head = (
        _event("message_start", {"type": "message_start", "message": message})
        + _event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        )
        + _event("ping", {"type": "ping"})
    )
    render = token_template(
        lambda t: _event(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}},
        )
    )
    sent = await stream_tokens(ctx, head, plan.tokens, render)
    if sent is None:
        return
    delta = {"stop_reason": _STOP_REASON[plan.finish], "stop_sequence": plan.stop_sequence}
    await conn.end_stream(
        _event("content_block_stop", {"type": "content_block_stop", "index": 0})
        + _event(
            "message_delta",
            {"type": "message_delta", "delta": delta, "usage": {"output_tokens": sent}},
        )
        + _event("message_stop", {"type": "message_stop"})
    )
