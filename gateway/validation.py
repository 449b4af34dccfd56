"""Checks on request bodies: what OpenAI rejects, we reject, with the same ``param``."""

from __future__ import annotations

from ground.errors import ApiError

ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


def bad(param: str, message: str) -> ApiError:
    return ApiError(400, message, param=param, code="invalid_parameter")


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_optional_int(body: dict, name: str, minimum: int = 1) -> None:
    value = body.get(name)
    if value is not None and (not is_int(value) or value < minimum):
        raise bad(name, f"'{name}' must be an integer ≥ {minimum}.")


def check_optional_range(body: dict, name: str, low: float, high: float) -> None:
    value = body.get(name)
    if value is not None and (not is_number(value) or not low <= value <= high):
        raise bad(name, f"'{name}' must be a number between {low:g} and {high:g}.")


def check_stream_flags(body: dict) -> None:
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise bad("stream", "'stream' must be a boolean.")
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            raise bad("stream_options", "'stream_options' must be an object.")
        if not stream:
            raise bad("stream_options", "'stream_options' is only allowed when 'stream' is true.")


def validate_chat(body: dict) -> None:
    messages = body.get("messages")
    if messages is None:
        raise ApiError(
            400,
            "Missing required parameter: 'messages'.",
            param="messages",
            code="missing_required_parameter",
        )
    if not isinstance(messages, list) or not messages:
        raise bad("messages", "'messages' must be a non-empty array of message objects.")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise bad(f"messages[{index}]", f"messages[{index}] must be an object.")
        role = message.get("role")
        if role not in ROLES:
            raise bad(
                f"messages[{index}].role",
                f"messages[{index}].role must be one of {', '.join(sorted(ROLES))}.",
            )
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise bad(
                f"messages[{index}].content",
                f"messages[{index}].content must be a string or an array.",
            )
        if content is None and role == "user":
            raise bad(
                f"messages[{index}].content",
                f"messages[{index}].content is required for a user message.",
            )
        if isinstance(content, list):
            check_content_parts(content, f"messages[{index}].content")
        if message.get("tool_calls") is not None:
            check_tool_calls(message["tool_calls"], f"messages[{index}].tool_calls")
    check_stream_flags(body)
    check_optional_int(body, "max_tokens")
    check_optional_int(body, "max_completion_tokens")
    check_optional_int(body, "n")
    check_optional_range(body, "temperature", 0, 2)
    check_optional_range(body, "top_p", 0, 1)
    check_optional_range(body, "presence_penalty", -2, 2)
    check_optional_range(body, "frequency_penalty", -2, 2)
    stop = body.get("stop")
    if stop is not None:
        if isinstance(stop, str):
            pass
        elif (
            not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) for s in stop)
        ):
            raise bad("stop", "'stop' must be a string or an array of at most 4 strings.")
    check_tools(body.get("tools"))
    response_format = body.get("response_format")
    if response_format is not None and not isinstance(response_format, dict):
        raise bad("response_format", "'response_format' must be an object.")


def check_content_parts(parts: list, where: str) -> None:
    for index, part in enumerate(parts):
        if not isinstance(part, dict | str):
            raise bad(f"{where}[{index}]", f"{where}[{index}] must be a content part object.")
        if isinstance(part, dict) and not isinstance(part.get("type", ""), str):
            raise bad(f"{where}[{index}].type", f"{where}[{index}].type must be a string.")


def check_tool_calls(calls: object, where: str) -> None:
    """``[{"id", "type": "function", "function": {"name", "arguments"}}]``, as OpenAI checks."""
    if not isinstance(calls, list):
        raise bad(where, f"{where} must be an array.")
    for index, call in enumerate(calls):
        at = f"{where}[{index}]"
        if not isinstance(call, dict):
            raise bad(at, f"{at} must be an object.")
        function = call.get("function")
        if not isinstance(function, dict):
            raise bad(
                f"{at}.function", f"{at}.function must be an object with 'name' and 'arguments'."
            )
        if not isinstance(function.get("name"), str):
            raise bad(f"{at}.function.name", f"{at}.function.name must be a string.")
        arguments = function.get("arguments")
        if arguments is not None and not isinstance(arguments, str):
            raise bad(f"{at}.function.arguments", f"{at}.function.arguments must be a JSON string.")


def check_tools(tools: object) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise bad("tools", "'tools' must be an array.")
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise bad(f"tools[{index}]", f"tools[{index}] must be an object.")
        function = tool.get("function")
        if tool.get("type", "function") == "function" and not isinstance(function, dict):
            raise bad(f"tools[{index}].function", f"tools[{index}].function must be an object.")


def validate_embeddings(body: dict) -> None:
    value = body.get("input")
    if value is None:
        raise ApiError(
            400,
            "Missing required parameter: 'input'.",
            param="input",
            code="missing_required_parameter",
        )
    if isinstance(value, str):
        if not value:
            raise bad("input", "'input' cannot be an empty string.")
    elif isinstance(value, list):
        if not value:
            raise bad("input", "'input' cannot be an empty array.")
        if len(value) > 2048:
            raise bad("input", "'input' can hold at most 2048 items.")
        for index, item in enumerate(value):
            if isinstance(item, str):
                if not item:
                    raise bad(f"input[{index}]", f"input[{index}] cannot be an empty string.")
            elif is_int(item) or (isinstance(item, list) and item and all(is_int(t) for t in item)):
                continue
            else:
                raise bad(
                    f"input[{index}]", f"input[{index}] must be a string or an array of token ids."
                )
    else:
        raise bad("input", "'input' must be a string or an array.")
    encoding = body.get("encoding_format")
    if encoding is not None and encoding not in ("float", "base64"):
        raise bad("encoding_format", "'encoding_format' must be 'float' or 'base64'.")
    if body.get("input_type") is not None and body["input_type"] not in ("query", "passage"):
        raise bad("input_type", "'input_type' must be 'query' or 'passage'.")
    check_optional_int(body, "dimensions")


def max_output_tokens(body: dict, model, prompt_estimate: int) -> int:
    """The most tokens this request may produce: what funds and token limits reserve."""
    requested = body.get("max_completion_tokens") or body.get("max_tokens")
    cap = model.max_output_tokens
    if model.context_window:
        room = max(model.context_window - prompt_estimate, 1)
        cap = min(cap, room) if cap else room
    limit = (min(requested, cap) if cap else requested) if requested else (cap or 4096)
    return limit * (body.get("n") or 1)
