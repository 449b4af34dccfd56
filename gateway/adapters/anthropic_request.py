"""OpenAI Chat Completions request -> Anthropic Messages API request.

A pure function (no I/O, no Django); re-exported by :mod:`.anthropic`.
Choices, in short:

* ``system`` and ``developer`` messages, wherever they appear, are hoisted into
  the top-level ``system`` field (joined with a blank line; kept as text blocks
  when any part carries a ``cache_control`` marker).
* Consecutive messages with the same Anthropic role are merged, because the
  Messages API requires user/assistant alternation. ``tool`` messages become
  ``tool_result`` blocks in a user turn, and within a user turn the
  ``tool_result`` blocks are moved first, as Anthropic requires.
* ``temperature`` is clamped to Anthropic's 0-1 range (OpenAI allows 0-2);
  values above 1 become 1.0 rather than being rescaled, so the common 0-1 values
  keep their meaning.
* ``max_completion_tokens``/``max_tokens`` -> ``max_tokens`` (required by
  Anthropic: ``default_max_tokens`` when absent); ``stop`` -> ``stop_sequences``;
  ``user`` -> ``metadata.user_id``; ``tool_choice`` auto/none/required/function
  -> auto/none/any/tool; ``parallel_tool_calls: false`` ->
  ``disable_parallel_tool_use``; ``top_p``, ``stream`` and (non-OpenAI) ``top_k``
  are passed through.
* Images: data URLs -> base64 ``image`` blocks, http(s) URLs -> ``url`` sources.
  Inline PDF ``file`` parts -> ``document`` blocks. ``cache_control`` markers on
  parts and tools are passed through.
* Empty text parts and messages are dropped (Anthropic rejects them), and
  trailing whitespace is stripped from a final assistant (prefill) turn.
* Whitespace-only ``stop`` strings are dropped (Anthropic rejects them).
* Parameters Anthropic has no equivalent for, and whose absence does not change
  the shape of the answer, are dropped silently: ``frequency_penalty``,
  ``presence_penalty``, ``logit_bias``, ``seed``, ``service_tier``, ``store``,
  ``metadata``, ``stream_options`` (handled by the stream translator),
  ``prediction``, ``reasoning_effort``, ``verbosity``, ``prompt_cache_key``,
  ``web_search_options``, ``modalities: ["text"]``, ``response_format: text``.
* Parameters whose absence *would* change what the client receives raise
  :class:`AdapterError`: ``n > 1``, ``logprobs``/``top_logprobs``,
  ``response_format`` json_object/json_schema, audio output, legacy
  ``functions``/``function_call``, non-function tools.
"""

from __future__ import annotations

from typing import Any

import orjson

from .errors import AdapterError

__all__ = ["to_anthropic_request"]

_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_ROLE_MAP = {"user": "user", "assistant": "assistant", "tool": "user"}


# --------------------------------------------------------------------------- request


def to_anthropic_request(
    body: dict[str, Any], upstream_model: str, *, default_max_tokens: int
) -> dict[str, Any]:
    """Translate an OpenAI chat completion request body to a Messages API body.

    Raises :class:`AdapterError` (HTTP 400) for invalid or untranslatable input.
    """
    _check_unsupported(body)
    system_blocks, messages = _messages(body.get("messages"))
    out: dict[str, Any] = {
        "model": upstream_model,
        "messages": messages,
        "max_tokens": _max_tokens(body, default_max_tokens),
    }
    if system_blocks:
        if any("cache_control" in b for b in system_blocks):
            out["system"] = system_blocks
        else:
            out["system"] = "\n\n".join(b["text"] for b in system_blocks)
    _add_sampling(body, out)
    if body.get("stream"):
        out["stream"] = True
    user = body.get("user") or body.get("safety_identifier")
    if user is not None:
        if not isinstance(user, str):
            raise AdapterError("'user' must be a string.", "user")
        out["metadata"] = {"user_id": user}
    tools = body.get("tools")
    if tools:
        out["tools"] = _tools(tools)
        tool_choice = _tool_choice(body.get("tool_choice"))
        if body.get("parallel_tool_calls") is False and tool_choice.get("type") != "none":
            tool_choice["disable_parallel_tool_use"] = True
        if tool_choice != {"type": "auto"}:
            out["tool_choice"] = tool_choice
    return out


def _messages(raw_messages: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system blocks, alternating user/assistant turns) of an OpenAI ``messages`` array."""
    if not isinstance(raw_messages, list) or not raw_messages:
        raise AdapterError("'messages' must be a non-empty array.", "messages")
    system_blocks: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for i, msg in enumerate(raw_messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise AdapterError("Each message must be an object.", where)
        role = msg.get("role")
        if role in ("system", "developer"):
            system_blocks.extend(_text_blocks(msg.get("content"), f"{where}.content"))
            continue
        blocks = _turn_blocks(msg, role, where)
        if not blocks:
            continue  # Anthropic rejects empty turns; an empty message carries nothing.
        anthropic_role = _ROLE_MAP[role]
        if messages and messages[-1]["role"] == anthropic_role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": anthropic_role, "content": blocks})
    for m in messages:
        if m["role"] == "user" and len(m["content"]) > 1:
            content = m["content"]
            results = [b for b in content if b["type"] == "tool_result"]
            if results and len(results) != len(content):
                m["content"] = results + [b for b in content if b["type"] != "tool_result"]
    _strip_trailing_prefill_whitespace(messages)
    if not messages:
        raise AdapterError("At least one user or assistant message is required.", "messages")
    return system_blocks, messages


def _turn_blocks(msg: dict[str, Any], role: Any, where: str) -> list[dict[str, Any]]:
    if role == "user":
        return _content_blocks(msg.get("content"), f"{where}.content", media=True)
    if role == "assistant":
        blocks = _content_blocks(msg.get("content"), f"{where}.content", media=False)
        tool_calls = msg.get("tool_calls")
        if tool_calls:
            blocks.extend(_tool_use_blocks(tool_calls, f"{where}.tool_calls"))
        return blocks
    if role == "tool":
        return [_tool_result_block(msg, where)]
    raise AdapterError(f"Unsupported message role {role!r}.", f"{where}.role")


def _add_sampling(body: dict[str, Any], out: dict[str, Any]) -> None:
    stop = body.get("stop")
    if stop is not None:
        if isinstance(stop, str):
            stop = [stop]
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise AdapterError("'stop' must be a string or an array of strings.", "stop")
        stop = [s for s in stop if s.strip()]
        if stop:
            out["stop_sequences"] = stop
    temperature = body.get("temperature")
    if temperature is not None:
        _check_number(temperature, "temperature", 0.0, 2.0)
        out["temperature"] = min(float(temperature), 1.0)
    top_p = body.get("top_p")
    if top_p is not None:
        _check_number(top_p, "top_p", 0.0, 1.0)
        out["top_p"] = top_p
    top_k = body.get("top_k")  # not OpenAI, but commonly sent to Anthropic-backed gateways
    if top_k is not None:
        if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 0:
            raise AdapterError("'top_k' must be a non-negative integer.", "top_k")
        out["top_k"] = top_k


def _check_unsupported(body: dict[str, Any]) -> None:
    n = body.get("n")
    if n is not None and n != 1:
        raise AdapterError("This model only supports n=1.", "n", "unsupported_value")
    if body.get("logprobs") or body.get("top_logprobs"):
        param = "logprobs" if body.get("logprobs") else "top_logprobs"
        raise AdapterError("This model does not return logprobs.", param, "unsupported_parameter")
    rf = body.get("response_format")
    if rf is not None and not (isinstance(rf, dict) and rf.get("type") == "text"):
        raise AdapterError(
            "response_format is not supported by this model; describe the expected JSON in "
            "the prompt instead.",
            "response_format",
            "unsupported_parameter",
        )
    modalities = body.get("modalities")
    if body.get("audio") is not None or (modalities and modalities != ["text"]):
        raise AdapterError("Audio output is not supported by this model.", "modalities")
    for legacy in ("functions", "function_call"):
        if body.get(legacy) is not None:
            raise AdapterError(
                f"'{legacy}' is deprecated and not supported here; use 'tools'.",
                legacy,
                "unsupported_parameter",
            )


def _max_tokens(body: dict[str, Any], default: int) -> int:
    for param in ("max_completion_tokens", "max_tokens"):
        value = body.get(param)
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise AdapterError(f"'{param}' must be a positive integer.", param)
            return value
    return default


def _check_number(value: Any, param: str, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise AdapterError(f"'{param}' must be a number between {lo:g} and {hi:g}.", param)


def _text_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    """System/developer/tool content: a string or an array of text parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise AdapterError("Content must be a string or an array of text parts.", where)
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") != "text":
            raise AdapterError("Only text content parts are allowed here.", f"{where}[{j}]")
        block = _text_block(part, f"{where}[{j}]")
        if block is not None:
            blocks.append(block)
    return blocks


def _text_block(part: dict[str, Any], where: str, key: str = "text") -> dict[str, Any] | None:
    text = part.get(key)
    if not isinstance(text, str):
        raise AdapterError(f"'{key}' must be a string.", f"{where}.{key}")
    if not text:
        return None  # Anthropic rejects empty text blocks
    block: dict[str, Any] = {"type": "text", "text": text}
    if "cache_control" in part:
        block["cache_control"] = part["cache_control"]
    return block


def _content_blocks(content: Any, where: str, *, media: bool) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise AdapterError("Content must be a string or an array of content parts.", where)
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        pw = f"{where}[{j}]"
        if not isinstance(part, dict):
            raise AdapterError("Each content part must be an object.", pw)
        ptype = part.get("type")
        block: dict[str, Any] | None
        if ptype == "text":
            block = _text_block(part, pw)
        elif ptype == "refusal" and not media:
            block = _text_block(part, pw, "refusal")
        elif ptype == "image_url" and media:
            block = _image_block(part.get("image_url"), f"{pw}.image_url")
        elif ptype == "file" and media:
            block = _document_block(part.get("file"), f"{pw}.file")
        else:
            raise AdapterError(
                f"Content part type {ptype!r} is not supported here.", pw, "unsupported_value"
            )
        if block is not None:
            if "cache_control" in part and "cache_control" not in block:
                block["cache_control"] = part["cache_control"]
            blocks.append(block)
    return blocks


def _parse_data_url(url: str, where: str) -> tuple[str, str]:
    header, sep, data = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        raise AdapterError("Data URLs must be base64-encoded (data:<type>;base64,...).", where)
    media_type = header[: -len(";base64")].split(";", 1)[0].strip().lower()
    return media_type, data


def _image_block(image_url: Any, where: str) -> dict[str, Any]:
    url = image_url.get("url") if isinstance(image_url, dict) else image_url
    if not isinstance(url, str) or not url:
        raise AdapterError("'image_url.url' must be a non-empty string.", where)
    if url.startswith("data:"):
        media_type, data = _parse_data_url(url, where)
        if media_type == "image/jpg":
            media_type = "image/jpeg"
        if media_type not in _IMAGE_TYPES:
            raise AdapterError(
                f"Unsupported image type {media_type!r}; use JPEG, PNG, GIF or WebP.",
                where,
                "unsupported_value",
            )
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise AdapterError("Image URLs must be http(s) or base64 data URLs.", where)


def _document_block(file: Any, where: str) -> dict[str, Any]:
    if not isinstance(file, dict) or not isinstance(file.get("file_data"), str):
        raise AdapterError("Only inline files ('file_data') are supported for this model.", where)
    data = file["file_data"]
    media_type = "application/pdf"
    if data.startswith("data:"):
        media_type, data = _parse_data_url(data, f"{where}.file_data")
    if media_type != "application/pdf":
        raise AdapterError(
            "Only PDF files are supported for this model.", where, "unsupported_value"
        )
    return {
        "type": "document",
        "source": {"type": "base64", "media_type": media_type, "data": data},
    }


def _tool_use_blocks(tool_calls: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(tool_calls, list):
        raise AdapterError("'tool_calls' must be an array.", where)
    blocks: list[dict[str, Any]] = []
    for j, call in enumerate(tool_calls):
        cw = f"{where}[{j}]"
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not call.get("id"):
            raise AdapterError("Each tool call needs an 'id' and a 'function.name'.", cw)
        arguments = fn.get("arguments") or "{}"
        try:
            tool_input = orjson.loads(arguments) if isinstance(arguments, str) else arguments
        except orjson.JSONDecodeError:
            raise AdapterError(
                "Tool call arguments must be a JSON object.", f"{cw}.function.arguments"
            ) from None
        if not isinstance(tool_input, dict):
            raise AdapterError(
                "Tool call arguments must be a JSON object.", f"{cw}.function.arguments"
            )
        blocks.append(
            {"type": "tool_use", "id": call["id"], "name": fn["name"], "input": tool_input}
        )
    return blocks


def _tool_result_block(msg: dict[str, Any], where: str) -> dict[str, Any]:
    tool_call_id = msg.get("tool_call_id")
    if not isinstance(tool_call_id, str) or not tool_call_id:
        raise AdapterError("Tool messages need a 'tool_call_id'.", f"{where}.tool_call_id")
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_call_id}
    content = msg.get("content")
    if isinstance(content, str):
        if content:
            block["content"] = content
    else:
        parts = _text_blocks(content, f"{where}.content")
        if parts:
            block["content"] = parts
    return block


def _strip_trailing_prefill_whitespace(messages: list[dict[str, Any]]) -> None:
    """Anthropic rejects a final assistant (prefill) turn ending in whitespace."""
    if not messages or messages[-1]["role"] != "assistant":
        return
    content = messages[-1]["content"]
    last = content[-1]
    if last["type"] == "text":
        text = last["text"].rstrip()
        if text:
            last["text"] = text
        else:
            content.pop()
            if not content:
                messages.pop()


def _tools(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise AdapterError("'tools' must be an array.", "tools")
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(fn, dict):
            raise AdapterError(
                "Only function tools are supported for this model.",
                f"tools[{i}]",
                "unsupported_value",
            )
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise AdapterError("Function tools need a 'name'.", f"tools[{i}].function.name")
        schema = fn.get("parameters") or {"type": "object", "properties": {}}
        converted: dict[str, Any] = {"name": name, "input_schema": schema}
        if fn.get("description"):
            converted["description"] = fn["description"]
        if "cache_control" in tool:
            converted["cache_control"] = tool["cache_control"]
        out.append(converted)
    return out


def _tool_choice(choice: Any) -> dict[str, Any]:
    if choice is None or choice == "auto":
        return {"type": "auto"}
    if choice == "required":
        return {"type": "any"}
    if choice == "none":
        return {"type": "none"}
    if isinstance(choice, dict) and choice.get("type") == "function":
        fn = choice.get("function")
        name = fn.get("name") if isinstance(fn, dict) else None
        if isinstance(name, str) and name:
            return {"type": "tool", "name": name}
    raise AdapterError(
        "'tool_choice' must be 'auto', 'none', 'required' or a function choice.", "tool_choice"
    )
