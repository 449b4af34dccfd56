"""Tests for the Responses API <-> Chat Completions adapter."""

from __future__ import annotations

import random

import httpx
import openai
import orjson
import pytest
from openai.types.responses import Response

from gateway.adapters import AdapterError, responses_object, responses_stream
from gateway.adapters.responses_object import chat_to_responses_response
from gateway.adapters.responses_request import responses_to_chat_request
from gateway.adapters.responses_stream import ResponsesStreamTranslator
from gateway.adapters.sse import SSEParser


def sdk_client(body: bytes, content_type: str) -> openai.OpenAI:
    """An OpenAI client whose every request is answered with ``body``."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": content_type}, content=body)

    http_client = httpx.Client(transport=httpx.MockTransport(handler))
    return openai.OpenAI(
        api_key="sk-test", base_url="http://portico.test/v1", http_client=http_client
    )


# --------------------------------------------------------------------------- request


def test_string_input_becomes_a_single_user_message() -> None:
    chat = responses_to_chat_request({"model": "gpt-x", "input": "Hello"})
    assert chat == {"model": "gpt-x", "messages": [{"role": "user", "content": "Hello"}]}


def test_instructions_become_a_leading_system_message() -> None:
    chat = responses_to_chat_request({"input": "Hi", "instructions": "Be brief."})
    assert chat["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]


def test_missing_input_raises_an_adapter_error_for_input() -> None:
    with pytest.raises(AdapterError) as exc:
        responses_to_chat_request({"model": "gpt-x"})
    assert exc.value.param == "input"


def test_message_items_and_content_parts_are_translated() -> None:
    chat = responses_to_chat_request(
        {
            "input": [
                {"role": "developer", "content": "Rules."},
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "Describe"},
                        {
                            "type": "input_image",
                            "image_url": "https://example.com/a.png",
                            "detail": "high",
                        },
                    ],
                },
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [
                        {"type": "output_text", "text": "A cat", "annotations": []},
                        {"type": "output_text", "text": " on a mat."},
                    ],
                },
                {"role": "user", "content": [{"type": "input_text", "text": "Thanks"}]},
            ]
        }
    )
    assert chat["messages"] == [
        {"role": "system", "content": "Rules."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Describe"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.com/a.png", "detail": "high"},
                },
            ],
        },
        {"role": "assistant", "content": "A cat on a mat."},
        {"role": "user", "content": "Thanks"},
    ]


def test_function_call_items_become_assistant_tool_calls_and_tool_messages() -> None:
    chat = responses_to_chat_request(
        {
            "input": [
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "Checking."}],
                },
                {
                    "type": "function_call",
                    "call_id": "call_1",
                    "name": "get_weather",
                    "arguments": '{"city":"Paris"}',
                },
                {
                    "type": "function_call",
                    "call_id": "call_2",
                    "name": "get_time",
                    "arguments": "{}",
                },
                {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
                {"type": "function_call_output", "call_id": "call_2", "output": "noon"},
                {"type": "reasoning", "id": "rs_1", "summary": []},
            ]
        }
    )
    assert chat["messages"][1:] == [
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": "{}"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
    ]


def test_a_function_call_without_a_preceding_assistant_message_gets_its_own() -> None:
    chat = responses_to_chat_request(
        {
            "input": [
                {"role": "user", "content": "x"},
                {"type": "function_call", "call_id": "c", "name": "f", "arguments": ""},
            ]
        }
    )
    assert chat["messages"][1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": ""}}],
    }


def test_sampling_limits_and_streaming_parameters_are_mapped() -> None:
    chat = responses_to_chat_request(
        {
            "input": "x",
            "max_output_tokens": 256,
            "temperature": 0.2,
            "top_p": 0.9,
            "stream": True,
            "user": "u-1",
            "metadata": {"trace": "abc"},
            "store": True,
            "reasoning": {"effort": "low"},
        }
    )
    assert chat == {
        "messages": [{"role": "user", "content": "x"}],
        "max_tokens": 256,
        "temperature": 0.2,
        "top_p": 0.9,
        "stream": True,
        "stream_options": {"include_usage": True},
        "user": "u-1",
    }


def test_function_tools_and_tool_choice_are_translated() -> None:
    params = {"type": "object", "properties": {"city": {"type": "string"}}}
    chat = responses_to_chat_request(
        {
            "input": "x",
            "tools": [
                {
                    "type": "function",
                    "name": "get_weather",
                    "description": "Look up",
                    "parameters": params,
                    "strict": True,
                }
            ],
            "tool_choice": {"type": "function", "name": "get_weather"},
            "parallel_tool_calls": False,
        }
    )
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Look up",
                "parameters": params,
                "strict": True,
            },
        }
    ]
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert chat["parallel_tool_calls"] is False


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x", "tools": [{"type": "web_search"}]}, "tools[0]"),
        ({"input": "x", "previous_response_id": "resp_1"}, "previous_response_id"),
        ({"input": 42}, "input"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]"),
        ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"input": "x", "max_output_tokens": -1}, "max_output_tokens"),
        ({"input": "x", "temperature": 3}, "temperature"),
        ({"input": "x", "text": {"format": {"type": "json_schema"}}}, "text.format"),
    ],
)
def test_invalid_or_unsupported_requests_raise_adapter_errors(body: dict, param: str) -> None:
    with pytest.raises(AdapterError) as exc:
        responses_to_chat_request(body)
    assert exc.value.param == param


def test_text_format_json_schema_becomes_response_format() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    chat = responses_to_chat_request(
        {
            "input": "x",
            "text": {
                "format": {"type": "json_schema", "name": "count", "schema": schema, "strict": True}
            },
        }
    )
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "count", "schema": schema, "strict": True},
    }
    assert "response_format" not in responses_to_chat_request(
        {"input": "x", "text": {"format": {"type": "text"}}}
    )


# -------------------------------------------------------------------------- response

CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-x",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello there"},
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 20,
        "completion_tokens": 5,
        "total_tokens": 25,
        "prompt_tokens_details": {"cached_tokens": 8},
    },
}
REQUEST = {"model": "gpt-x", "input": "Hi", "instructions": "Be brief.", "metadata": {"k": "v"}}


def test_a_chat_completion_becomes_a_response_the_sdk_parses() -> None:
    out = chat_to_responses_response(CHAT, request=REQUEST, response_id="resp_abc")
    response = Response.model_validate(out)
    assert response.id == "resp_abc"
    assert response.object == "response"
    assert response.status == "completed"
    assert response.created_at == 1700000000
    assert response.model == "gpt-x"
    assert response.output_text == "Hello there"
    assert out["output_text"] == "Hello there"
    assert response.instructions == "Be brief."
    assert response.metadata == {"k": "v"}
    message = response.output[0]
    assert (
        message.type == "message"
        and message.id.startswith("msg_")
        and message.status == "completed"
    )
    assert response.usage is not None
    assert (
        response.usage.input_tokens,
        response.usage.output_tokens,
        response.usage.total_tokens,
    ) == (20, 5, 25)
    assert response.usage.input_tokens_details.cached_tokens == 8
    assert response.usage.output_tokens_details.reasoning_tokens == 0
    assert out["error"] is None and out["incomplete_details"] is None
    assert out["text"] == {"format": {"type": "text"}}


def test_the_sdk_parses_a_non_streamed_response_over_http() -> None:
    out = chat_to_responses_response(CHAT, request=REQUEST)
    client = sdk_client(orjson.dumps(out), "application/json")
    response = client.responses.create(model="gpt-x", input="Hi")
    assert response.output_text == "Hello there"
    assert response.id.startswith("resp_")


def test_a_length_finish_reason_makes_the_response_incomplete() -> None:
    chat = {
        **CHAT,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hel"},
                "finish_reason": "length",
            }
        ],
    }
    out = chat_to_responses_response(chat, request={**REQUEST, "max_output_tokens": 3})
    response = Response.model_validate(out)
    assert response.status == "incomplete"
    assert (
        response.incomplete_details is not None
        and response.incomplete_details.reason == "max_output_tokens"
    )
    assert response.output[0].status == "incomplete"
    assert response.max_output_tokens == 3


def test_tool_calls_become_function_call_items() -> None:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_9",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
            }
        ],
    }
    chat = {**CHAT, "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}
    tools = [
        {
            "type": "function",
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {}},
        }
    ]
    out = chat_to_responses_response(chat, request={"input": "x", "tools": tools})
    response = Response.model_validate(out)
    assert response.status == "completed"
    assert len(response.output) == 1
    call = response.output[0]
    assert call.type == "function_call"
    assert (call.call_id, call.name, call.arguments) == ("call_9", "get_weather", '{"city":"Rome"}')
    assert response.output_text == ""
    assert response.tools[0].name == "get_weather"


# ------------------------------------------------------------------------- streaming


def chunk(delta: dict | None = None, finish: str | None = None, usage: dict | None = None) -> bytes:
    body: dict = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-x",
    }
    body["choices"] = (
        [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    )
    if usage is not None:
        body["usage"] = usage
    return b"data: " + orjson.dumps(body) + b"\n\n"


TEXT_STREAM = (
    chunk({"role": "assistant", "content": ""})
    + chunk({"content": "Hel"})
    + b": keep-alive\n\n"
    + chunk({"content": "lo wörld 👋"})
    + chunk({}, "stop")
    + chunk(
        usage={
            "prompt_tokens": 11,
            "completion_tokens": 4,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 3},
        }
    )
    + b"data: [DONE]\n\n"
)
TOOL_STREAM = (
    chunk({"role": "assistant", "content": None})
    + chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        }
    )
    + chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]})
    + chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]})
    + chunk(
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": "{}"},
                }
            ]
        }
    )
    + chunk({}, "tool_calls")
    + chunk(usage={"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42})
    + b"data: [DONE]\n\n"
)


def run_stream(
    data: bytes, sizes: list[int] | None = None, request: dict | None = None
) -> tuple[bytes, ResponsesStreamTranslator]:
    translator = ResponsesStreamTranslator(
        request=request or {"model": "gpt-x", "input": "Hi", "stream": True},
        response_id="resp_test",
        created_at=1700000000,
    )
    out = []
    pos = 0
    for size in sizes or []:
        out.append(translator.feed(data[pos : pos + size]))
        pos += size
    out.append(translator.feed(data[pos:]))
    out.append(translator.finish())
    return b"".join(out), translator


def events_of(output: bytes) -> list[dict]:
    events = []
    for name, data in SSEParser().feed(output):
        event = orjson.loads(data)
        assert name == event["type"]
        events.append(event)
    return events


def test_a_text_stream_becomes_the_official_event_sequence() -> None:
    output, translator = run_stream(TEXT_STREAM)
    events = events_of(output)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    deltas = [e for e in events if e["type"] == "response.output_text.delta"]
    assert [d["delta"] for d in deltas] == ["Hel", "lo wörld 👋"]
    assert {(d["item_id"], d["output_index"], d["content_index"]) for d in deltas} == {
        (events[2]["item"]["id"], 0, 0)
    }
    completed = Response.model_validate(events[-1]["response"])
    assert completed.id == "resp_test"
    assert completed.status == "completed"
    assert completed.output_text == "Hello wörld 👋"
    assert completed.usage is not None and completed.usage.input_tokens_details.cached_tokens == 3
    assert translator.completed
    assert translator.usage is not None
    assert (translator.usage["input_tokens"], translator.usage["output_tokens"]) == (11, 4)
    assert translator.output_chunks == 2


def test_the_sdk_iterates_a_translated_stream() -> None:
    output, _ = run_stream(TEXT_STREAM)
    client = sdk_client(output, "text/event-stream")
    events = list(client.responses.create(model="gpt-x", input="Hi", stream=True))
    assert [type(e).__name__ for e in events][:2] == [
        "ResponseCreatedEvent",
        "ResponseInProgressEvent",
    ]
    assert (
        "".join(e.delta for e in events if e.type == "response.output_text.delta")
        == "Hello wörld 👋"
    )
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "Hello wörld 👋"

    with client.responses.stream(model="gpt-x", input="Hi") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == "Hello wörld 👋"


def test_a_tool_call_stream_becomes_function_call_items() -> None:
    output, translator = run_stream(TOOL_STREAM)
    client = sdk_client(output, "text/event-stream")
    with client.responses.stream(model="gpt-x", input="Hi") as stream:
        events = list(stream)
        final = stream.get_final_response()
    types = [e.type for e in events]
    assert types.count("response.output_item.added") == 2
    assert types.count("response.function_call_arguments.done") == 2
    calls = [item for item in final.output if item.type == "function_call"]
    assert [(c.call_id, c.name, c.arguments) for c in calls] == [
        ("call_1", "get_weather", '{"city":"Paris"}'),
        ("call_2", "get_time", "{}"),
    ]
    assert [c.id for c in calls] == ["fc_test00", "fc_test01"]
    assert translator.usage is not None and translator.usage["total_tokens"] == 42


@pytest.mark.parametrize("stream", [TEXT_STREAM, TOOL_STREAM, TEXT_STREAM.replace(b"\n", b"\r\n")])
def test_stream_output_is_identical_when_fed_one_byte_at_a_time_or_in_random_splits(
    stream: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in (responses_object, responses_stream):  # pin created_at and completed_at
        monkeypatch.setattr(module, "_now", lambda: 1700000001)
    expected, _ = run_stream(stream.replace(b"\r\n", b"\n"))
    assert run_stream(stream, [1] * len(stream))[0] == expected
    rng = random.Random(7)
    for _ in range(50):
        sizes = [rng.randint(0, 30) for _ in range(len(stream) // 10)]
        assert run_stream(stream, sizes)[0] == expected


def test_a_length_finish_emits_response_incomplete() -> None:
    data = chunk({"content": "Hel"}) + chunk({}, "length") + b"data: [DONE]\n\n"
    output, translator = run_stream(
        data, request={"model": "gpt-x", "input": "x", "max_output_tokens": 1}
    )
    events = events_of(output)
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert events[-1]["response"]["output"][0]["status"] == "incomplete"
    assert translator.completed


def test_an_interrupted_stream_does_not_complete_and_can_be_failed() -> None:
    data = (
        chunk({"role": "assistant", "content": ""})
        + chunk({"content": "Hel"})
        + chunk({"content": "lo"})
    )
    output, translator = run_stream(data)
    assert not translator.completed
    assert b"response.completed" not in output
    assert translator.usage is None
    assert translator.output_chunks == 2
    failure = translator.fail("Upstream connection lost.")
    events = events_of(output + failure)
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[-1]["response"]["status"] == "failed"
    assert events[-1]["response"]["error"] == {
        "code": "server_error",
        "message": "Upstream connection lost.",
    }
    failed = Response.model_validate(events[-1]["response"])
    assert failed.output_text == "Hello"
    assert failed.output[0].status == "incomplete"
    assert translator.fail("again") == b""
    assert translator.finish() == b""


def test_a_stream_missing_done_but_with_a_finish_reason_completes_in_finish() -> None:
    output, translator = run_stream(TEXT_STREAM.replace(b"data: [DONE]\n\n", b""))
    assert translator.completed
    assert events_of(output)[-1]["type"] == "response.completed"


def test_an_upstream_error_chunk_becomes_error_and_response_failed_events() -> None:
    error = b'data: {"error": {"message": "Rate limited", "type": "rate_limit_error", "code": "rate_limit_exceeded"}}\n\n'
    output, translator = run_stream(chunk({"content": "Hi"}) + error)
    events = events_of(output)
    assert events[-2] == {
        "type": "error",
        "code": "rate_limit_exceeded",
        "message": "Rate limited",
        "param": None,
        "sequence_number": len(events) - 2,
    }
    assert events[-1]["type"] == "response.failed"
    assert translator.error is not None and translator.error["error"]["message"] == "Rate limited"
    assert not translator.completed


def test_an_empty_stream_still_produces_a_completed_response() -> None:
    output, translator = run_stream(chunk({}, "stop") + b"data: [DONE]\n\n")
    events = events_of(output)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.completed",
    ]
    assert translator.completed
