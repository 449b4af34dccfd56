"""OpenAI Chat Completions <-> Anthropic Messages API translation.

Pure functions (no I/O, no Django):

* :func:`to_anthropic_request` (defined in :mod:`.anthropic_request`, see its
  docstring for which OpenAI parameters are mapped, dropped or rejected);
* :func:`from_anthropic_response` and :func:`from_anthropic_error`;
* :class:`AnthropicStreamTranslator` for ``stream: true``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from .anthropic_request import to_anthropic_request
from .errors import openai_error
from .sse import SSEParser

__all__ = [
    "FINISH_REASONS",
    "AnthropicStreamTranslator",
    "from_anthropic_error",
    "from_anthropic_response",
    "to_anthropic_request",
]

FINISH_REASONS: dict[str | None, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def _chat_usage(
    input_tokens: int, cache_write: int, cache_read: int, output_tokens: int
) -> dict[str, Any]:
    prompt = input_tokens + cache_write + cache_read
    return {
        "prompt_tokens": prompt,
        "completion_tokens": output_tokens,
        "total_tokens": prompt + output_tokens,
        "prompt_tokens_details": {"cached_tokens": cache_read},
    }


def _int(d: dict[str, Any], key: str) -> int:
    value = d.get(key)
    return value if isinstance(value, int) else 0


def from_anthropic_response(
    resp: dict[str, Any], *, model: str, created: int | None = None
) -> dict[str, Any]:
    """Translate a Messages API response to an OpenAI ``chat.completion`` object.

    ``model`` is the model name the client asked for (not the upstream one).
    Thinking blocks are not exposed.
    """
    texts: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in resp.get("content") or ():
        btype = block.get("type")
        if btype == "text":
            texts.append(block.get("text") or "")
        elif btype == "tool_use":
            tool_calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {
                        "name": block.get("name"),
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    },
                }
            )
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not tool_calls else None,
        "refusal": None,
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    usage = resp.get("usage") or {}
    return {
        "id": "chatcmpl-" + str(resp.get("id") or uuid.uuid4().hex),
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": FINISH_REASONS.get(resp.get("stop_reason"), "stop"),
            }
        ],
        "usage": _chat_usage(
            _int(usage, "input_tokens"),
            _int(usage, "cache_creation_input_tokens"),
            _int(usage, "cache_read_input_tokens"),
            _int(usage, "output_tokens"),
        ),
    }


# Anthropic error type -> (client status, OpenAI error type, code). Problems with the
# gateway's own upstream credentials/config are reported as 502 so that clients do not
# mistake them for a problem with *their* API key.
_ERROR_TYPES: dict[str, tuple[int, str, str | None]] = {
    "invalid_request_error": (400, "invalid_request_error", None),
    "request_too_large": (413, "invalid_request_error", "request_too_large"),
    "rate_limit_error": (429, "rate_limit_error", "rate_limit_exceeded"),
    "authentication_error": (502, "upstream_error", "upstream_authentication_error"),
    "permission_error": (502, "upstream_error", "upstream_permission_error"),
    "not_found_error": (502, "upstream_error", "upstream_not_found"),
    "billing_error": (502, "upstream_error", "upstream_billing_error"),
    "api_error": (502, "server_error", "upstream_server_error"),
    "overloaded_error": (503, "server_error", "overloaded"),
    "timeout_error": (504, "server_error", "timeout"),
}


_STATUS_ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _error_type_for_status(status: int) -> str:
    if status in _STATUS_ERROR_TYPES:
        return _STATUS_ERROR_TYPES[status]
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


def _map_error(status: int | None, etype: Any, message: Any) -> tuple[int, dict[str, Any]]:
    if not isinstance(etype, str) or etype not in _ERROR_TYPES:
        etype = _error_type_for_status(status or 500)
    client_status, openai_type, code = _ERROR_TYPES[etype]
    if not isinstance(message, str) or not message:
        message = f"Upstream provider returned HTTP {status}." if status else "Upstream error."
    if openai_type == "upstream_error":
        message = "Upstream provider error: " + message
    return client_status, openai_error(message, openai_type, code=code)


def from_anthropic_error(status: int, body: bytes) -> tuple[int, dict[str, Any]]:
    """Translate an Anthropic error response to ``(client_status, OpenAI error body)``.

    Status mapping: 400/413/429 keep their meaning; upstream auth, permission,
    billing and not-found errors (gateway misconfiguration) become 502
    ``upstream_error``; 5xx become 502 ``server_error``, except overloaded
    (529 -> 503) and timeouts (504).
    """
    etype: Any = None
    message: Any = None
    try:
        payload = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        payload = None
    if isinstance(payload, dict):
        err = payload.get("error")
        if isinstance(err, dict):
            etype, message = err.get("type"), err.get("message")
    if message is None and body and payload is None:
        snippet = body[:200].decode("utf-8", "replace").strip()
        if snippet:
            message = f"Upstream provider returned HTTP {status}: {snippet}"
    return _map_error(status, etype, message)


# ------------------------------------------------------------------------- streaming


class AnthropicStreamTranslator:
    """Translate an Anthropic Messages SSE stream into OpenAI chat-completion chunks.

    Feed raw upstream bytes as they arrive; each call returns the client bytes
    to send now. ``finish()`` returns the trailing usage chunk (when
    ``include_usage``) and ``data: [DONE]``, but only if the upstream stream
    completed (``message_stop`` seen); otherwise it returns ``b""`` and the
    caller decides how to report the interruption (see :meth:`error_event`).

    Attributes:
        completed: ``message_stop`` was received.
        error: OpenAI-style error body ``{"error": {...}}`` if the upstream sent
            an ``error`` event (already forwarded to the client as
            ``data: {"error": ...}``); ``error_status`` is the matching HTTP status.
        output_chunks: number of non-empty text / tool-argument deltas seen.
        usage: see :attr:`usage`.
    """

    def __init__(self, *, model: str, include_usage: bool, created: int | None = None) -> None:
        self.model = model
        self.include_usage = include_usage
        self.created = int(time.time()) if created is None else created
        self.id: str | None = None
        self.completed = False
        self.error: dict[str, Any] | None = None
        self.error_status: int | None = None
        self.output_chunks = 0
        self.finish_reason: str | None = None
        self._parser = SSEParser()
        self._prefix = b""
        self._suffix = b""
        self._started = False
        self._finished = False
        self._usage_seen = False  # input usage known (message_start)
        self._final_output_seen = False  # message_delta carried output_tokens
        self._input = self._cache_write = self._cache_read = self._output = 0
        self._tool_index: dict[int, int] = {}  # anthropic block index -> OpenAI tool index

    # -- public API --------------------------------------------------------------

    def feed(self, data: bytes) -> bytes:
        """Consume upstream bytes; return the OpenAI SSE bytes to send now."""
        if self.completed or self.error is not None:
            return b""
        out: list[bytes] = []
        for event, payload in self._parser.feed(data):
            self._handle(event, payload, out)
            if self.completed or self.error is not None:
                break
        return b"".join(out)

    def finish(self) -> bytes:
        """Return the trailing usage chunk and ``[DONE]`` if the stream completed."""
        if not self.completed or self._finished:
            return b""
        self._finished = True
        out = b""
        if self.include_usage:
            chunk = {
                "id": self._ensure_id(),
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": self.usage,
            }
            out = b"data: " + orjson.dumps(chunk) + b"\n\n"
        return out + b"data: [DONE]\n\n"

    @property
    def usage(self) -> dict[str, Any] | None:
        """OpenAI usage for what has been seen so far (``None`` before anything).

        ``completion_tokens`` is the upstream count once ``message_delta``
        arrived; for an interrupted stream it is at least ``output_chunks``
        (an underestimate: a delta often carries more than one token).
        """
        if not self._usage_seen and not self.output_chunks:
            return None
        output = self._output
        if not self._final_output_seen:
            output = max(output, self.output_chunks)
        return _chat_usage(self._input, self._cache_write, self._cache_read, output)

    def error_event(
        self, message: str, type: str = "server_error", code: str | None = None
    ) -> bytes:
        """Format an OpenAI-style in-stream error event (for interrupted streams)."""
        return b"data: " + orjson.dumps(openai_error(message, type, code=code)) + b"\n\n"

    # -- internals ---------------------------------------------------------------

    def _ensure_id(self) -> str:
        if self.id is None:
            self.id = "chatcmpl-" + uuid.uuid4().hex
        return self.id

    def _chunk(self, delta: bytes, finish_reason: str | None = None) -> bytes:
        if not self._prefix:
            self._prefix = (
                b'data: {"id":'
                + orjson.dumps(self._ensure_id())
                + b',"object":"chat.completion.chunk","created":'
                + str(self.created).encode()
                + b',"model":'
                + orjson.dumps(self.model)
                + b',"choices":[{"index":0,"delta":'
            )
            self._suffix = b"}]" + (b',"usage":null' if self.include_usage else b"") + b"}\n\n"
        fr = b"null" if finish_reason is None else orjson.dumps(finish_reason)
        return self._prefix + delta + b',"logprobs":null,"finish_reason":' + fr + self._suffix

    def _start(self, out: list[bytes]) -> None:
        if not self._started:
            self._started = True
            out.append(self._chunk(b'{"role":"assistant","content":""}'))

    def _handle(self, event: str | None, payload: bytes, out: list[bytes]) -> None:
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return  # not JSON: nothing we can translate
        if not isinstance(msg, dict):
            return
        etype = msg.get("type") or event
        if etype == "content_block_delta":
            delta = msg.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                text = delta.get("text")
                if text:
                    self._start(out)
                    self.output_chunks += 1
                    out.append(self._chunk(b'{"content":' + orjson.dumps(text) + b"}"))
            elif dtype == "input_json_delta":
                fragment = delta.get("partial_json")
                index = self._tool_index.get(msg.get("index", -1))
                if fragment and index is not None:
                    self.output_chunks += 1
                    call = {"index": index, "function": {"arguments": fragment}}
                    out.append(self._chunk(orjson.dumps({"tool_calls": [call]})))
        elif etype == "message_start":
            message = msg.get("message") or {}
            if message.get("id") and not self._prefix:
                self.id = "chatcmpl-" + str(message["id"])
            self._update_usage(message.get("usage"))
            self._usage_seen = True
            self._start(out)
        elif etype == "content_block_start":
            block = msg.get("content_block") or {}
            btype = block.get("type")
            if btype == "tool_use":
                self._start(out)
                index = len(self._tool_index)
                self._tool_index[msg.get("index", -1)] = index
                call = {
                    "index": index,
                    "id": block.get("id"),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": ""},
                }
                out.append(self._chunk(orjson.dumps({"tool_calls": [call]})))
            elif btype == "text" and block.get("text"):
                self._start(out)
                self.output_chunks += 1
                out.append(self._chunk(b'{"content":' + orjson.dumps(block["text"]) + b"}"))
        elif etype == "message_delta":
            delta = msg.get("delta") or {}
            usage = msg.get("usage")
            if isinstance(usage, dict) and isinstance(usage.get("output_tokens"), int):
                self._final_output_seen = True
            self._update_usage(usage)
            self._start(out)
            self.finish_reason = FINISH_REASONS.get(delta.get("stop_reason"), "stop")
            out.append(self._chunk(b"{}", self.finish_reason))
        elif etype == "message_stop":
            self.completed = True
        elif etype == "error":
            err = msg.get("error") or {}
            self.error_status, self.error = _map_error(None, err.get("type"), err.get("message"))
            out.append(b"data: " + orjson.dumps(self.error) + b"\n\n")
        # "ping", "content_block_stop" and unknown events need no output.

    def _update_usage(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        if isinstance(usage.get("input_tokens"), int):
            self._input = usage["input_tokens"]
        if isinstance(usage.get("cache_creation_input_tokens"), int):
            self._cache_write = usage["cache_creation_input_tokens"]
        if isinstance(usage.get("cache_read_input_tokens"), int):
            self._cache_read = usage["cache_read_input_tokens"]
        if isinstance(usage.get("output_tokens"), int):
            self._output = usage["output_tokens"]
