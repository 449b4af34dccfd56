"""OpenAI Responses API: a provider's ``chat.completion`` turned into a ``response`` object.

Pure functions (no I/O, no Django). Portico stores nothing: responses report
``store: false``; output item ids are derived from the response id (``msg_<id>00``,
``fc_<id>01`` ...). The request side: :mod:`.responses_request`; streams:
:mod:`.responses_stream`."""

from __future__ import annotations

import time
import uuid
from typing import Any


def _now() -> int:
    return int(time.time())


def _new_response_id() -> str:
    return "resp_" + uuid.uuid4().hex


def _item_id(prefix: str, response_id: str, index: int) -> str:
    return f"{prefix}_{response_id.removeprefix('resp_')}{index:02d}"


def with_earlier_usage(usage: Any, earlier: tuple[int, int, int] | None) -> Any:
    """Chat ``usage`` plus the ``(prompt, completion, cached)`` tokens of earlier model
    rounds of the same response (a server-side tool loop); ``usage`` as it is when there
    were none, or when it is absent."""
    if not earlier or not any(earlier) or not isinstance(usage, dict):
        return usage
    prompt = (usage.get("prompt_tokens") or 0) + earlier[0]
    completion = (usage.get("completion_tokens") or 0) + earlier[1]
    details = dict(usage.get("prompt_tokens_details") or {})
    details["cached_tokens"] = (details.get("cached_tokens") or 0) + earlier[2]
    return {
        **usage,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": details,
    }


def _responses_usage(usage: Any) -> dict[str, Any] | None:
    """Chat ``usage`` -> Responses ``usage`` (``None`` if absent)."""
    if not isinstance(usage, dict):
        return None
    prompt = usage.get("prompt_tokens") or 0
    completion = usage.get("completion_tokens") or 0
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": usage.get("total_tokens") or prompt + completion,
    }


def _echo_tools(request: dict[str, Any]) -> list[dict[str, Any]]:
    tools = request.get("tools") or []
    return [_echo_tool(t) for t in tools if isinstance(t, dict)]


def _echo_tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") == "file_search":
        return {
            "type": "file_search",
            "vector_store_ids": tool.get("vector_store_ids"),
            "max_num_results": tool.get("max_num_results"),
            "filters": tool.get("filters"),
            "ranking_options": tool.get("ranking_options"),
        }
    return {
        "type": "function",
        "name": tool.get("name"),
        "description": tool.get("description"),
        "parameters": tool.get("parameters"),
        "strict": tool.get("strict"),
    }


def _response_object(
    request: dict[str, Any],
    *,
    response_id: str,
    created_at: int,
    model: str | None,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    incomplete_reason: str | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    text_cfg = request.get("text")
    fmt = text_cfg.get("format") if isinstance(text_cfg, dict) else None
    metadata = request.get("metadata")
    texts = [
        part["text"]
        for item in output
        if item["type"] == "message"
        for part in item["content"]
        if part["type"] == "output_text"
    ]
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "completed_at": _now() if status == "completed" else None,
        "background": False,
        "error": error,
        "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": model if model is not None else request.get("model"),
        "output": output,
        "output_text": "".join(texts),
        "parallel_tool_calls": request.get("parallel_tool_calls", True) is not False,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": request.get("temperature", 1.0),
        "text": {"format": fmt if isinstance(fmt, dict) else {"type": "text"}},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": _echo_tools(request),
        "top_p": request.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": usage,
        "user": request.get("user"),
        "metadata": metadata if isinstance(metadata, dict) else {},
    }


_INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}


def chat_to_responses_response(
    chat: dict[str, Any], *, request: dict[str, Any], response_id: str | None = None
) -> dict[str, Any]:
    """Translate a ``chat.completion`` into a Responses ``response`` object.

    ``request`` is the original Responses request (echoed fields such as
    ``instructions``, ``tools`` and ``metadata`` come from it).
    """
    response_id = response_id or _new_response_id()
    choices = chat.get("choices") or [{}]
    choice = choices[0]
    message = choice.get("message") or {}
    incomplete_reason = _INCOMPLETE_REASONS.get(choice.get("finish_reason"))
    item_status = "incomplete" if incomplete_reason else "completed"
    output: list[dict[str, Any]] = []
    content: list[dict[str, Any]] = []
    text = message.get("content")
    if isinstance(text, list):  # some providers return content parts
        text = "".join(p.get("text") or "" for p in text if isinstance(p, dict))
    tool_calls = message.get("tool_calls") or []
    if text or not tool_calls:
        content.append(
            {"type": "output_text", "text": text or "", "annotations": [], "logprobs": []}
        )
    if message.get("refusal"):
        content.append({"type": "refusal", "refusal": message["refusal"]})
    if content:
        output.append(
            {
                "type": "message",
                "id": _item_id("msg", response_id, 0),
                "status": item_status,
                "role": "assistant",
                "content": content,
            }
        )
    for call in tool_calls:
        fn = call.get("function") or {}
        output.append(
            {
                "type": "function_call",
                "id": _item_id("fc", response_id, len(output)),
                "call_id": call.get("id") or _item_id("call", response_id, len(output)),
                "name": fn.get("name") or "",
                "arguments": fn.get("arguments") or "",
                "status": "completed",
            }
        )
    return _response_object(
        request,
        response_id=response_id,
        created_at=chat.get("created") or _now(),
        model=chat.get("model"),
        status="incomplete" if incomplete_reason else "completed",
        output=output,
        usage=_responses_usage(chat.get("usage")),
        incomplete_reason=incomplete_reason,
    )
