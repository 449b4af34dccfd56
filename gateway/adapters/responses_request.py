"""OpenAI Responses API request -> Chat Completions request.

:func:`responses_to_chat_request` turns a ``POST /v1/responses`` body into a
chat completions body for any OpenAI-compatible provider. A pure function (no
I/O, no Django); re-exported by the package.

Mapping: ``input`` (string or items) and ``instructions`` -> ``messages``
(instructions first, as a system message); ``function_call`` /
``function_call_output`` items -> assistant ``tool_calls`` / ``tool`` messages;
``max_output_tokens`` -> ``max_tokens``; function ``tools`` and ``tool_choice``
-> chat shapes; ``text.format`` -> ``response_format``; ``stream`` also sets
``stream_options.include_usage`` so the final event can carry usage.

Portico is stateless here: ``previous_response_id``, ``conversation``,
``prompt``, ``background`` and ``item_reference`` inputs raise :class:`AdapterError`;
``store`` is accepted but nothing is stored (responses report ``store: false``).
``developer`` messages are sent as ``system`` (not every provider knows the
``developer`` role). ``reasoning``, ``include``, ``truncation``,
``text.verbosity``, ``max_tool_calls``, ``top_logprobs``, ``service_tier``,
``prompt_cache_key`` and ``metadata`` are not forwarded (metadata is echoed).
Input ``reasoning`` items are skipped.
"""

from __future__ import annotations

from typing import Any

from .errors import AdapterError

__all__ = ["responses_to_chat_request"]

_STATEFUL_PARAMS = ("previous_response_id", "conversation", "prompt")
_TEXT_PARTS = ("input_text", "output_text", "text")


# --------------------------------------------------------------------------- request


def responses_to_chat_request(body: dict[str, Any]) -> dict[str, Any]:
    """Translate a Responses API request body to a chat completions body.

    Raises :class:`AdapterError` for invalid or unsupported input.
    """
    for param in _STATEFUL_PARAMS:
        if body.get(param) is not None:
            raise AdapterError(
                f"'{param}' is not supported: this endpoint does not store responses.",
                param,
                "unsupported_parameter",
            )
    if body.get("background"):
        raise AdapterError("Background responses are not supported.", "background")

    messages = _messages(body)

    chat: dict[str, Any] = {}
    if body.get("model") is not None:
        chat["model"] = body["model"]
    chat["messages"] = messages
    _add_sampling(body, chat)
    if body.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    user = body.get("user") or body.get("safety_identifier")
    if user is not None:
        if not isinstance(user, str):
            raise AdapterError("'user' must be a string.", "user")
        chat["user"] = user
    tools = body.get("tools")
    if tools:
        chat["tools"] = _tools(tools)
        if body.get("tool_choice") is not None:
            chat["tool_choice"] = _tool_choice(body["tool_choice"])
        if body.get("parallel_tool_calls") is not None:
            chat["parallel_tool_calls"] = bool(body["parallel_tool_calls"])
    response_format = _response_format(body.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    return chat


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Chat messages of ``instructions`` and ``input``."""
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise AdapterError("'instructions' must be a string.", "instructions")
        if instructions:
            messages.append({"role": "system", "content": instructions})
    raw_input = body.get("input")
    if raw_input is None:
        raise AdapterError(
            "Missing required parameter: 'input'.", "input", "missing_required_parameter"
        )
    if isinstance(raw_input, str):
        messages.append({"role": "user", "content": raw_input})
    elif isinstance(raw_input, list):
        _input_items(raw_input, messages)
    else:
        raise AdapterError("'input' must be a string or an array of input items.", "input")
    if not messages:
        raise AdapterError("'input' must contain at least one item.", "input")
    return messages


def _add_sampling(body: dict[str, Any], chat: dict[str, Any]) -> None:
    max_output = body.get("max_output_tokens")
    if max_output is not None:
        if not isinstance(max_output, int) or isinstance(max_output, bool) or max_output < 1:
            raise AdapterError(
                "'max_output_tokens' must be a positive integer.", "max_output_tokens"
            )
        chat["max_tokens"] = max_output
    for param, hi in (("temperature", 2.0), ("top_p", 1.0)):
        value = body.get(param)
        if value is not None:
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 <= value <= hi
            ):
                raise AdapterError(f"'{param}' must be a number between 0 and {hi:g}.", param)
            chat[param] = value


def _input_items(items: list[Any], messages: list[dict[str, Any]]) -> None:
    for i, item in enumerate(items):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise AdapterError("Each input item must be an object.", where)
        itype = item.get("type")
        if itype is None or itype == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise AdapterError(f"Unsupported message role {role!r}.", f"{where}.role")
            content = _message_content(item.get("content"), role, f"{where}.content")
            messages.append({"role": "system" if role == "developer" else role, "content": content})
        elif itype == "function_call":
            call_id, name = item.get("call_id"), item.get("name")
            arguments = item.get("arguments", "")
            if not isinstance(call_id, str) or not isinstance(name, str):
                raise AdapterError("function_call items need 'call_id' and 'name'.", where)
            if not isinstance(arguments, str):
                raise AdapterError("'arguments' must be a JSON string.", f"{where}.arguments")
            call = {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif itype == "function_call_output":
            call_id = item.get("call_id")
            if not isinstance(call_id, str):
                raise AdapterError(
                    "function_call_output items need a 'call_id'.", f"{where}.call_id"
                )
            output = item.get("output", "")
            if isinstance(output, list):
                output = _message_content(output, "tool", f"{where}.output")
            elif not isinstance(output, str):
                raise AdapterError("'output' must be a string.", f"{where}.output")
            messages.append({"role": "tool", "tool_call_id": call_id, "content": output})
        elif itype == "reasoning":
            continue
        else:
            raise AdapterError(
                f"Input item type {itype!r} is not supported.", where, "unsupported_value"
            )


def _message_content(content: Any, role: str, where: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise AdapterError("Content must be a string or an array of content parts.", where)
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        pw = f"{where}[{j}]"
        ptype = part.get("type") if isinstance(part, dict) else None
        if ptype in _TEXT_PARTS or ptype == "refusal":
            text = part.get("refusal" if ptype == "refusal" else "text")
            if not isinstance(text, str):
                raise AdapterError("Text content parts need a string 'text'.", pw)
            parts.append({"type": "text", "text": text})
        elif ptype == "input_image" and role == "user":
            url = part.get("image_url")
            if not isinstance(url, str) or not url:
                raise AdapterError(
                    "input_image needs an 'image_url' (file_id is not supported).",
                    pw,
                    "unsupported_value",
                )
            image: dict[str, Any] = {"url": url}
            if part.get("detail") in ("low", "high"):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        elif ptype == "input_file" and role == "user":
            data = part.get("file_data")
            if not isinstance(data, str) or not data:
                raise AdapterError(
                    "input_file needs 'file_data' (file_id/file_url are not supported).",
                    pw,
                    "unsupported_value",
                )
            file: dict[str, Any] = {"file_data": data}
            if part.get("filename"):
                file["filename"] = part["filename"]
            parts.append({"type": "file", "file": file})
        else:
            raise AdapterError(
                f"Content part type {ptype!r} is not supported here.", pw, "unsupported_value"
            )
    if all(p["type"] == "text" for p in parts) and (role != "user" or len(parts) == 1):
        return "".join(p["text"] for p in parts)
    return parts


def _tools(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise AdapterError("'tools' must be an array.", "tools")
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            ttype = tool.get("type") if isinstance(tool, dict) else None
            raise AdapterError(
                f"Tool type {ttype!r} is not supported; only function tools are.",
                f"tools[{i}]",
                "unsupported_value",
            )
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise AdapterError("Function tools need a 'name'.", f"tools[{i}].name")
        fn: dict[str, Any] = {"name": name}
        if tool.get("description") is not None:
            fn["description"] = tool["description"]
        fn["parameters"] = tool.get("parameters") or {"type": "object", "properties": {}}
        if tool.get("strict") is not None:
            fn["strict"] = tool["strict"]
        out.append({"type": "function", "function": fn})
    return out


def _tool_choice(choice: Any) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function" and choice.get("name"):
        return {"type": "function", "function": {"name": choice["name"]}}
    raise AdapterError(
        "'tool_choice' must be 'auto', 'none', 'required' or a function choice.", "tool_choice"
    )


def _response_format(text: Any) -> dict[str, Any] | None:
    if text is None:
        return None
    fmt = text.get("format") if isinstance(text, dict) else None
    if fmt is None:
        return None
    ftype = fmt.get("type") if isinstance(fmt, dict) else None
    if ftype == "text":
        return None
    if ftype == "json_object":
        return {"type": "json_object"}
    if ftype == "json_schema":
        if not isinstance(fmt.get("name"), str) or not isinstance(fmt.get("schema"), dict):
            raise AdapterError("json_schema formats need a 'name' and a 'schema'.", "text.format")
        schema = {
            k: fmt[k] for k in ("name", "schema", "description", "strict") if fmt.get(k) is not None
        }
        return {"type": "json_schema", "json_schema": schema}
    raise AdapterError("Unsupported 'text.format'.", "text.format", "unsupported_value")
