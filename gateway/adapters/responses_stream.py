"""OpenAI Responses API streaming: a chat-completion SSE stream turned into Responses
streaming events, incrementally (no I/O, no Django). Item ids and the final
``response`` object are built as in :mod:`.responses_object`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from .responses_object import (
    _INCOMPLETE_REASONS,
    _item_id,
    _new_response_id,
    _now,
    _response_object,
    _responses_usage,
    with_earlier_usage,
)
from .sse import SSEParser


class _ToolState:
    __slots__ = ("args", "call_id", "id", "name", "output_index")

    def __init__(self, output_index: int, item_id: str, call_id: str, name: str) -> None:
        self.output_index = output_index
        self.id = item_id
        self.call_id = call_id
        self.name = name
        self.args: list[str] = []


class ResponsesStreamTranslator:
    """Translate a chat-completion SSE stream into Responses streaming events.

    ``feed(bytes) -> bytes`` returns the events to send now; the
    ``response.created``/``response.in_progress`` pair is emitted with the first
    upstream event. When ``data: [DONE]`` arrives the open items are closed and
    ``response.completed`` (or ``response.incomplete`` when the model hit its
    token limit) is emitted. ``finish()`` also finalises a stream that carried
    a ``finish_reason`` but lacked ``[DONE]``; for a stream that was cut off it
    returns ``b""`` (``completed`` stays ``False``) and the caller may send
    :meth:`fail`.

    Attributes:
        completed: the final ``response.completed``/``response.incomplete`` was emitted.
        usage: Responses-style usage from the upstream usage chunk, or ``None``.
        output_chunks: number of non-empty text / tool-argument deltas seen.
        error: OpenAI-style error body if the upstream sent ``data: {"error": ...}``.
        response_id: the ``resp_…`` id used in every event.
    """

    def __init__(
        self,
        *,
        request: dict[str, Any],
        model: str | None = None,
        response_id: str | None = None,
        created_at: int | None = None,
        annotate: Callable[[str], list[dict[str, Any]]] | None = None,
        earlier_usage: tuple[int, int, int] | None = None,
    ) -> None:
        self.request = request
        self.annotate = annotate  # the finished text's annotations (file citations)
        # The tokens of the response's earlier model rounds (a server-side tool loop),
        # added to the answer's usage: the response's usage counts every round.
        self.earlier_usage = earlier_usage
        self.model = model if model is not None else request.get("model")
        self.response_id = response_id or _new_response_id()
        self.created_at = _now() if created_at is None else created_at
        self.completed = False
        self.error: dict[str, Any] | None = None
        self.usage: dict[str, Any] | None = None
        self.output_chunks = 0
        self.finish_reason: str | None = None
        self._parser = SSEParser()
        self._seq = 0
        self._header_sent = False
        self._done = False  # completed, failed, or finished
        self._output: list[dict[str, Any]] = []  # finished items
        self._n_items = 0
        self._text_id: str | None = None  # open message item
        self._text_index = 0
        self._text_parts: list[str] = []
        self._delta_prefix = b""
        self._tools: dict[int, _ToolState] = {}
        self._open_tool: _ToolState | None = None

    # -- public API --------------------------------------------------------------

    def feed(self, data: bytes) -> bytes:
        """Consume upstream chat SSE bytes; return Responses SSE bytes to send now."""
        if self._done:
            return b""
        out: list[bytes] = []
        for _event, payload in self._parser.feed(data):
            self._handle(payload, out)
            if self._done:
                break
        return b"".join(out)

    def finish(self) -> bytes:
        """Finalise a stream that ended after a ``finish_reason`` without ``[DONE]``."""
        if self._done or self.finish_reason is None:
            return b""
        out: list[bytes] = []
        self._complete(out)
        return b"".join(out)

    def fail(self, message: str, code: str = "server_error") -> bytes:
        """Emit ``error`` + ``response.failed`` (e.g. after an upstream interruption)."""
        if self._done:
            return b""
        out: list[bytes] = []
        self._header(out)
        self._done = True
        self.error = {"error": {"message": message, "type": code, "code": code, "param": None}}
        self._emit(out, {"type": "error", "code": code, "message": message, "param": None})
        response = self._snapshot("failed", error={"code": code, "message": message})
        response["output"] += self._partial_items()
        response["output_text"] += "".join(self._text_parts)
        self._emit(out, {"type": "response.failed", "response": response})
        return b"".join(out)

    # -- items made by Portico itself (a server-side tool call) ----------------------

    def start(self) -> bytes:
        """``response.created`` and ``response.in_progress`` now (before any upstream byte)."""
        out: list[bytes] = []
        self._header(out)
        return b"".join(out)

    def open_item(self, item: dict[str, Any]) -> tuple[bytes, int]:
        """``response.output_item.added`` for ``item``; answers the events and its index."""
        out: list[bytes] = []
        self._header(out)
        index = self._n_items
        self._n_items += 1
        self._emit(out, {"type": "response.output_item.added", "output_index": index, "item": item})
        return b"".join(out), index

    def item_event(self, event_type: str, item_id: str, index: int) -> bytes:
        """A progress event of an open item (``response.file_search_call.searching`` …)."""
        out: list[bytes] = []
        self._emit(out, {"type": event_type, "item_id": item_id, "output_index": index})
        return b"".join(out)

    def close_item(self, item: dict[str, Any], index: int) -> bytes:
        """``response.output_item.done``: ``item`` is part of the final response."""
        out: list[bytes] = []
        self._output.append(item)
        self._emit(out, {"type": "response.output_item.done", "output_index": index, "item": item})
        return b"".join(out)

    # -- internals ---------------------------------------------------------------

    def _emit(self, out: list[bytes], event: dict[str, Any]) -> None:
        event["sequence_number"] = self._seq
        self._seq += 1
        out.append(
            b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"
        )

    def _snapshot(self, status: str, **kwargs: Any) -> dict[str, Any]:
        return _response_object(
            self.request,
            response_id=self.response_id,
            created_at=self.created_at,
            model=self.model,
            status=status,
            output=list(self._output),
            usage=self.usage,
            **kwargs,
        )

    def _partial_items(self) -> list[dict[str, Any]]:
        """The still-open items, marked incomplete (for ``response.failed``)."""
        items: list[dict[str, Any]] = []
        if self._text_id is not None:
            part = {
                "type": "output_text",
                "text": "".join(self._text_parts),
                "annotations": [],
                "logprobs": [],
            }
            items.append(
                {
                    "id": self._text_id,
                    "type": "message",
                    "status": "incomplete",
                    "role": "assistant",
                    "content": [part],
                }
            )
        if self._open_tool is not None:
            state = self._open_tool
            items.append(
                {
                    "id": state.id,
                    "type": "function_call",
                    "status": "incomplete",
                    "arguments": "".join(state.args),
                    "call_id": state.call_id,
                    "name": state.name,
                }
            )
        return items

    def _header(self, out: list[bytes]) -> None:
        if not self._header_sent:
            self._header_sent = True
            self._emit(out, {"type": "response.created", "response": self._snapshot("in_progress")})
            self._emit(
                out, {"type": "response.in_progress", "response": self._snapshot("in_progress")}
            )

    def _handle(self, payload: bytes, out: list[bytes]) -> None:
        if payload == b"[DONE]":
            self._complete(out)
            return
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        if not isinstance(chunk, dict):
            return
        if "error" in chunk and not chunk.get("choices"):
            err = chunk["error"] if isinstance(chunk["error"], dict) else {}
            code = err.get("code") if err.get("code") == "rate_limit_exceeded" else "server_error"
            out.append(self.fail(str(err.get("message") or "Upstream error."), code))
            self.error = {"error": err}
            return
        self._header(out)
        if chunk.get("model") and self.model is None:
            self.model = chunk["model"]
        usage = _responses_usage(with_earlier_usage(chunk.get("usage"), self.earlier_usage))
        if usage is not None:
            self.usage = usage
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if text:
                self._text_delta(text, out)
            for call in delta.get("tool_calls") or ():
                self._tool_delta(call, out)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]

    def _text_delta(self, text: str, out: list[bytes]) -> None:
        if self._text_id is None:
            self._close_tool(out)
            self._text_index = self._n_items
            self._n_items += 1
            self._text_id = item_id = _item_id("msg", self.response_id, self._text_index)
            self._text_parts = []
            item = {
                "id": item_id,
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [],
            }
            self._emit(
                out,
                {
                    "type": "response.output_item.added",
                    "output_index": self._text_index,
                    "item": item,
                },
            )
            self._emit(
                out,
                {
                    "type": "response.content_part.added",
                    "item_id": item_id,
                    "output_index": self._text_index,
                    "content_index": 0,
                    "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []},
                },
            )
            self._delta_prefix = (
                b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","item_id":'
                + orjson.dumps(item_id)
                + b',"output_index":'
                + str(self._text_index).encode()
                + b',"content_index":0,"delta":'
            )
        self.output_chunks += 1
        self._text_parts.append(text)
        out.append(
            self._delta_prefix
            + orjson.dumps(text)
            + b',"logprobs":[],"sequence_number":'
            + str(self._seq).encode()
            + b"}\n\n"
        )
        self._seq += 1

    def _close_text(self, out: list[bytes], status: str = "completed") -> None:
        if self._text_id is None:
            return
        item_id, index = self._text_id, self._text_index
        self._text_id = None
        text = "".join(self._text_parts)
        self._text_parts = []
        annotations = self.annotate(text) if self.annotate else []
        part = {"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}
        base = {"item_id": item_id, "output_index": index, "content_index": 0}
        for number, annotation in enumerate(annotations):
            self._emit(
                out,
                {
                    "type": "response.output_text.annotation.added",
                    **base,
                    "annotation_index": number,
                    "annotation": annotation,
                },
            )
        self._emit(out, {"type": "response.output_text.done", **base, "text": text, "logprobs": []})
        self._emit(out, {"type": "response.content_part.done", **base, "part": part})
        item = {
            "id": item_id,
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": [part],
        }
        self._output.append(item)
        self._emit(out, {"type": "response.output_item.done", "output_index": index, "item": item})

    def _tool_delta(self, call: dict[str, Any], out: list[bytes]) -> None:
        index = call.get("index", 0)
        fn = call.get("function") or {}
        state = self._tools.get(index)
        if state is None:
            self._close_text(out)
            self._close_tool(out)
            output_index = self._n_items
            self._n_items += 1
            item_id = _item_id("fc", self.response_id, output_index)
            state = _ToolState(
                output_index, item_id, call.get("id") or item_id, fn.get("name") or ""
            )
            self._tools[index] = state
            self._open_tool = state
            item = {
                "id": state.id,
                "type": "function_call",
                "status": "in_progress",
                "arguments": "",
                "call_id": state.call_id,
                "name": state.name,
            }
            self._emit(
                out,
                {"type": "response.output_item.added", "output_index": output_index, "item": item},
            )
        fragment = fn.get("arguments")
        if fragment:
            self.output_chunks += 1
            state.args.append(fragment)
            self._emit(
                out,
                {
                    "type": "response.function_call_arguments.delta",
                    "item_id": state.id,
                    "output_index": state.output_index,
                    "delta": fragment,
                },
            )

    def _close_tool(self, out: list[bytes]) -> None:
        state = self._open_tool
        if state is None:
            return
        self._open_tool = None
        arguments = "".join(state.args)
        self._emit(
            out,
            {
                "type": "response.function_call_arguments.done",
                "item_id": state.id,
                "output_index": state.output_index,
                "name": state.name,
                "arguments": arguments,
            },
        )
        item = {
            "id": state.id,
            "type": "function_call",
            "status": "completed",
            "arguments": arguments,
            "call_id": state.call_id,
            "name": state.name,
        }
        self._output.append(item)
        self._emit(
            out,
            {"type": "response.output_item.done", "output_index": state.output_index, "item": item},
        )

    def _complete(self, out: list[bytes]) -> None:
        self._header(out)
        reason = _INCOMPLETE_REASONS.get(self.finish_reason or "")
        self._close_text(out, "incomplete" if reason else "completed")
        self._close_tool(out)
        self._done = True
        self.completed = True
        if reason:
            response = self._snapshot("incomplete", incomplete_reason=reason)
            self._emit(out, {"type": "response.incomplete", "response": response})
        else:
            self._emit(out, {"type": "response.completed", "response": self._snapshot("completed")})
