"""Tests for the OpenAI Chat Completions <-> Anthropic Messages adapter."""

from __future__ import annotations

import random

import httpx
import openai
import orjson
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from gateway.adapters import AdapterError
from gateway.adapters.anthropic import (
    AnthropicStreamTranslator,
    from_anthropic_error,
    from_anthropic_response,
    to_anthropic_request,
)
from gateway.adapters.sse import SSEParser

MODEL = "claude-sonnet-4-5"


def translate(body: dict, default_max_tokens: int = 4096) -> dict:
    return to_anthropic_request(body, MODEL, default_max_tokens=default_max_tokens)


def user(content: object) -> dict:
    return {"role": "user", "content": content}


# --------------------------------------------------------------------------- request


def test_it_moves_system_messages_to_the_system_field() -> None:
    out = translate(
        {
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
                user("Hi"),
            ]
        }
    )
    assert out["system"] == "You are terse.\n\nAnswer in French."
    assert out["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    assert out["model"] == MODEL


def test_it_keeps_system_blocks_when_they_carry_cache_control() -> None:
    marker = {"type": "ephemeral"}
    out = translate(
        {
            "messages": [
                {
                    "role": "system",
                    "content": [{"type": "text", "text": "Long doc", "cache_control": marker}],
                },
                user("Hi"),
            ]
        }
    )
    assert out["system"] == [{"type": "text", "text": "Long doc", "cache_control": marker}]


def test_it_merges_consecutive_messages_of_the_same_role() -> None:
    out = translate(
        {
            "messages": [
                user("one"),
                user([{"type": "text", "text": "two"}]),
                {"role": "assistant", "content": "three"},
                {"role": "assistant", "content": "four"},
                user("five"),
            ]
        }
    )
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
    assert [b["text"] for b in out["messages"][0]["content"]] == ["one", "two"]
    assert [b["text"] for b in out["messages"][1]["content"]] == ["three", "four"]


def test_it_drops_empty_messages_and_empty_text_parts() -> None:
    out = translate({"messages": [user("a"), {"role": "assistant", "content": ""}, user("b")]})
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]


def test_it_strips_trailing_whitespace_from_a_final_assistant_prefill() -> None:
    out = translate({"messages": [user("Count"), {"role": "assistant", "content": "1, 2, "}]})
    assert out["messages"][-1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "1, 2,"}],
    }


def test_it_rejects_a_conversation_with_only_system_messages() -> None:
    with pytest.raises(AdapterError) as exc:
        translate({"messages": [{"role": "system", "content": "x"}]})
    assert exc.value.param == "messages"


def test_it_translates_image_parts_to_image_blocks() -> None:
    out = translate(
        {
            "messages": [
                user(
                    [
                        {"type": "text", "text": "What is this?"},
                        {
                            "type": "image_url",
                            "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="},
                        },
                        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                    ]
                )
            ]
        }
    )
    assert out["messages"][0]["content"][1:] == [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        },
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]


@pytest.mark.parametrize(
    "url",
    ["data:image/png,rawbytes", "data:image/tiff;base64,AAAA", "ftp://example.com/a.png", ""],
)
def test_it_rejects_images_anthropic_cannot_take(url: str) -> None:
    with pytest.raises(AdapterError) as exc:
        translate({"messages": [user([{"type": "image_url", "image_url": {"url": url}}])]})
    assert exc.value.param == "messages[0].content[0].image_url"


def test_it_translates_inline_pdf_files_to_document_blocks() -> None:
    part = {
        "type": "file",
        "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"},
    }
    out = translate({"messages": [user([part])]})
    assert out["messages"][0]["content"] == [
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
        }
    ]


def test_it_translates_tool_definitions() -> None:
    params = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    out = translate(
        {
            "messages": [user("Weather in Paris?")],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "description": "Look it up",
                        "parameters": params,
                    },
                },
                {"type": "function", "function": {"name": "now"}},
            ],
        }
    )
    assert out["tools"] == [
        {"name": "get_weather", "input_schema": params, "description": "Look it up"},
        {"name": "now", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert "tool_choice" not in out  # "auto" is Anthropic's default


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        ({"type": "function", "function": {"name": "now"}}, {"type": "tool", "name": "now"}),
    ],
)
def test_it_maps_tool_choice(choice: object, expected: dict) -> None:
    tools = [{"type": "function", "function": {"name": "now"}}]
    out = translate({"messages": [user("x")], "tools": tools, "tool_choice": choice})
    assert out["tool_choice"] == expected


def test_parallel_tool_calls_false_disables_parallel_tool_use() -> None:
    tools = [{"type": "function", "function": {"name": "now"}}]
    out = translate({"messages": [user("x")], "tools": tools, "parallel_tool_calls": False})
    assert out["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_it_rejects_non_function_tools() -> None:
    with pytest.raises(AdapterError) as exc:
        translate({"messages": [user("x")], "tools": [{"type": "custom", "custom": {"name": "x"}}]})
    assert exc.value.param == "tools[0]"


def test_it_translates_assistant_tool_calls_and_tool_results() -> None:
    out = translate(
        {
            "messages": [
                user("Weather in Paris and Rome?"),
                {
                    "role": "assistant",
                    "content": "Let me check.",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        },
                        {
                            "id": "call_2",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                {
                    "role": "tool",
                    "tool_call_id": "call_2",
                    "content": [{"type": "text", "text": "25C"}],
                },
                user("Which is warmer?"),
            ]
        }
    )
    assert out["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "Rome"}},
        ],
    }
    assert out["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
            {
                "type": "tool_result",
                "tool_use_id": "call_2",
                "content": [{"type": "text", "text": "25C"}],
            },
            {"type": "text", "text": "Which is warmer?"},
        ],
    }


def test_it_puts_tool_results_first_in_a_merged_user_turn() -> None:
    out = translate(
        {
            "messages": [
                user("hi"),
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "f", "arguments": ""}}
                    ],
                },
                user("note"),
                {"role": "tool", "tool_call_id": "c", "content": "ok"},
            ]
        }
    )
    assert out["messages"][1]["content"][0]["input"] == {}
    assert [b["type"] for b in out["messages"][2]["content"]] == ["tool_result", "text"]


def test_it_rejects_tool_call_arguments_that_are_not_a_json_object() -> None:
    bad = {
        "role": "assistant",
        "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1"}}
        ],
    }
    with pytest.raises(AdapterError) as exc:
        translate({"messages": [user("x"), bad]})
    assert exc.value.param == "messages[1].tool_calls[0].function.arguments"


def test_it_uses_the_default_max_tokens_when_absent() -> None:
    assert translate({"messages": [user("x")]}, default_max_tokens=1234)["max_tokens"] == 1234
    assert translate({"messages": [user("x")], "max_tokens": 50})["max_tokens"] == 50
    body = {"messages": [user("x")], "max_tokens": 50, "max_completion_tokens": 70}
    assert translate(body)["max_tokens"] == 70


def test_it_rejects_a_non_positive_max_tokens() -> None:
    with pytest.raises(AdapterError) as exc:
        translate({"messages": [user("x")], "max_tokens": 0})
    assert exc.value.param == "max_tokens"


def test_it_maps_stop_to_stop_sequences() -> None:
    assert translate({"messages": [user("x")], "stop": "END"})["stop_sequences"] == ["END"]
    out = translate({"messages": [user("x")], "stop": ["a", "\n", "b"]})
    assert out["stop_sequences"] == ["a", "b"]  # whitespace-only sequences are dropped
    assert "stop_sequences" not in translate({"messages": [user("x")], "stop": None})


def test_it_clamps_temperature_to_anthropics_range_and_passes_top_p() -> None:
    out = translate({"messages": [user("x")], "temperature": 1.7, "top_p": 0.9})
    assert out["temperature"] == 1.0
    assert out["top_p"] == 0.9
    assert translate({"messages": [user("x")], "temperature": 0.3})["temperature"] == 0.3


@pytest.mark.parametrize(
    ("param", "value"), [("temperature", 2.5), ("temperature", "hot"), ("top_p", 1.5)]
)
def test_it_rejects_out_of_range_sampling_parameters(param: str, value: object) -> None:
    with pytest.raises(AdapterError) as exc:
        translate({"messages": [user("x")], param: value})
    assert exc.value.param == param


def test_it_maps_user_to_metadata_and_sets_stream() -> None:
    out = translate(
        {
            "messages": [user("x")],
            "user": "u-42",
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    )
    assert out["metadata"] == {"user_id": "u-42"}
    assert out["stream"] is True
    assert "stream_options" not in out


def test_it_rejects_n_greater_than_one() -> None:
    with pytest.raises(AdapterError) as exc:
        translate({"messages": [user("x")], "n": 2})
    assert exc.value.param == "n"
    assert translate({"messages": [user("x")], "n": 1})["messages"]


def test_it_silently_drops_openai_only_parameters() -> None:
    out = translate(
        {
            "messages": [user("x")],
            "frequency_penalty": 0.5,
            "presence_penalty": 0.5,
            "logit_bias": {"50256": -100},
            "seed": 7,
            "store": True,
            "metadata": {"a": "b"},
            "service_tier": "auto",
            "reasoning_effort": "low",
            "response_format": {"type": "text"},
        }
    )
    assert set(out) == {"model", "messages", "max_tokens"}


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"logprobs": True}, "logprobs"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"modalities": ["text", "audio"]}, "modalities"),
    ],
)
def test_it_rejects_parameters_that_would_change_the_answer(extra: dict, param: str) -> None:
    with pytest.raises(AdapterError) as exc:
        translate({"messages": [user("x")], **extra})
    assert exc.value.param == param
    assert exc.value.to_dict()["error"]["param"] == param


# -------------------------------------------------------------------------- response

ANTHROPIC_TEXT_RESPONSE = {
    "id": "msg_01ABC",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": " there"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 12,
        "cache_creation_input_tokens": 100,
        "cache_read_input_tokens": 2000,
        "output_tokens": 7,
    },
}


def test_it_translates_a_text_response_the_sdk_can_parse() -> None:
    out = from_anthropic_response(
        ANTHROPIC_TEXT_RESPONSE, model="portico-claude", created=1700000000
    )
    completion = ChatCompletion.model_validate(out)
    assert completion.id == "chatcmpl-msg_01ABC"
    assert completion.object == "chat.completion"
    assert completion.created == 1700000000
    assert completion.model == "portico-claude"
    assert completion.choices[0].message.content == "Hello there"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason == "stop"


def test_it_counts_cache_tokens_as_prompt_tokens() -> None:
    usage = from_anthropic_response(ANTHROPIC_TEXT_RESPONSE, model="m")["usage"]
    assert usage == {
        "prompt_tokens": 2112,
        "completion_tokens": 7,
        "total_tokens": 2119,
        "prompt_tokens_details": {"cached_tokens": 2000},
    }
    parsed = ChatCompletion.model_validate(
        from_anthropic_response(ANTHROPIC_TEXT_RESPONSE, model="m")
    )
    assert parsed.usage is not None and parsed.usage.prompt_tokens_details.cached_tokens == 2000


def test_it_translates_tool_use_blocks_to_tool_calls() -> None:
    resp = {
        "id": "msg_02",
        "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 5, "output_tokens": 9},
    }
    completion = ChatCompletion.model_validate(from_anthropic_response(resp, model="m"))
    message = completion.choices[0].message
    assert message.content is None
    assert completion.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls is not None
    call = message.tool_calls[0]
    assert (call.id, call.type, call.function.name) == ("toolu_1", "function", "get_weather")
    assert orjson.loads(call.function.arguments) == {"city": "Paris"}


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
    ],
)
def test_it_maps_stop_reasons_to_finish_reasons(stop_reason: str, finish_reason: str) -> None:
    resp = {**ANTHROPIC_TEXT_RESPONSE, "stop_reason": stop_reason}
    assert from_anthropic_response(resp, model="m")["choices"][0]["finish_reason"] == finish_reason


@pytest.mark.parametrize(
    ("status", "etype", "client_status", "openai_type", "code"),
    [
        (400, "invalid_request_error", 400, "invalid_request_error", None),
        (413, "request_too_large", 413, "invalid_request_error", "request_too_large"),
        (429, "rate_limit_error", 429, "rate_limit_error", "rate_limit_exceeded"),
        (401, "authentication_error", 502, "upstream_error", "upstream_authentication_error"),
        (500, "api_error", 502, "server_error", "upstream_server_error"),
        (529, "overloaded_error", 503, "server_error", "overloaded"),
    ],
)
def test_it_translates_anthropic_errors(
    status: int, etype: str, client_status: int, openai_type: str, code: str | None
) -> None:
    body = orjson.dumps(
        {"type": "error", "error": {"type": etype, "message": "Something happened"}}
    )
    got_status, error = from_anthropic_error(status, body)
    assert got_status == client_status
    assert error["error"]["type"] == openai_type
    assert error["error"]["code"] == code
    assert error["error"]["param"] is None
    assert "Something happened" in error["error"]["message"]


def test_it_translates_a_non_json_error_body() -> None:
    status, error = from_anthropic_error(502, b"<html>Bad gateway</html>")
    assert status == 502
    assert error["error"]["type"] == "server_error"
    assert "Bad gateway" in error["error"]["message"]


# ------------------------------------------------------------------------- streaming


def sse(event: str, data: dict) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def delta(index: int, payload: dict) -> bytes:
    return sse(
        "content_block_delta", {"type": "content_block_delta", "index": index, "delta": payload}
    )


START = sse(
    "message_start",
    {
        "type": "message_start",
        "message": {
            "id": "msg_01XYZ",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "claude-sonnet-4-5-20250929",
            "stop_reason": None,
            "usage": {
                "input_tokens": 25,
                "cache_creation_input_tokens": 10,
                "cache_read_input_tokens": 100,
                "output_tokens": 1,
            },
        },
    },
)
TEXT_PART = (
    sse(
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    )
    + sse("ping", {"type": "ping"})
    + delta(0, {"type": "text_delta", "text": "Hello"})
    + delta(0, {"type": "text_delta", "text": " wörld 👋"})
    + sse("content_block_stop", {"type": "content_block_stop", "index": 0})
)
TOOL_PART = (
    sse(
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_01",
                "name": "get_weather",
                "input": {},
            },
        },
    )
    + delta(1, {"type": "input_json_delta", "partial_json": ""})
    + delta(1, {"type": "input_json_delta", "partial_json": '{"city": "Par'})
    + delta(1, {"type": "input_json_delta", "partial_json": 'is"}'})
    + sse("content_block_stop", {"type": "content_block_stop", "index": 1})
)
END = sse(
    "message_delta",
    {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 42},
    },
) + sse("message_stop", {"type": "message_stop"})
FULL_STREAM = START + TEXT_PART + TOOL_PART + END


def run_stream(
    data: bytes, sizes: list[int] | None = None, include_usage: bool = True
) -> tuple[bytes, AnthropicStreamTranslator]:
    translator = AnthropicStreamTranslator(
        model="portico-claude", include_usage=include_usage, created=1700000000
    )
    out = []
    pos = 0
    for size in sizes or []:
        out.append(translator.feed(data[pos : pos + size]))
        pos += size
    out.append(translator.feed(data[pos:]))
    out.append(translator.finish())
    return b"".join(out), translator


def chunks_of(output: bytes) -> list[dict]:
    datas = [data for _, data in SSEParser().feed(output)]
    assert datas[-1] == b"[DONE]"
    return [orjson.loads(d) for d in datas[:-1]]


def test_it_translates_a_stream_of_text_and_tool_use() -> None:
    output, translator = run_stream(FULL_STREAM)
    chunks = chunks_of(output)
    parsed = [ChatCompletionChunk.model_validate(c) for c in chunks]
    assert {c.id for c in parsed} == {"chatcmpl-msg_01XYZ"}
    assert {(c.model, c.created, c.object) for c in parsed} == {
        ("portico-claude", 1700000000, "chat.completion.chunk")
    }
    assert parsed[0].choices[0].delta.role == "assistant"
    assert parsed[0].choices[0].delta.content == ""
    text = "".join(c.choices[0].delta.content or "" for c in parsed if c.choices)
    assert text == "Hello wörld 👋"
    calls = [tc for c in parsed if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert (calls[0].index, calls[0].id, calls[0].function.name) == (0, "toolu_01", "get_weather")
    assert orjson.loads("".join(tc.function.arguments or "" for tc in calls)) == {"city": "Paris"}
    finish = [
        c.choices[0].finish_reason for c in parsed if c.choices and c.choices[0].finish_reason
    ]
    assert finish == ["tool_calls"]
    usage_chunk = parsed[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert (
        usage_chunk.usage.prompt_tokens,
        usage_chunk.usage.completion_tokens,
        usage_chunk.usage.total_tokens,
    ) == (135, 42, 177)
    assert usage_chunk.usage.prompt_tokens_details.cached_tokens == 100
    assert translator.completed
    assert translator.usage == usage_chunk.usage.model_dump(exclude_none=True)
    assert translator.output_chunks == 4
    assert translator.error is None


def test_stream_output_is_identical_when_fed_one_byte_at_a_time_or_in_random_splits() -> None:
    expected, _ = run_stream(FULL_STREAM)
    one_by_one, _ = run_stream(FULL_STREAM, [1] * len(FULL_STREAM))
    assert one_by_one == expected
    rng = random.Random(42)
    for _ in range(100):
        sizes = [rng.randint(0, 40) for _ in range(len(FULL_STREAM) // 10)]
        assert run_stream(FULL_STREAM, sizes)[0] == expected
    crlf = FULL_STREAM.replace(b"\n", b"\r\n")
    assert run_stream(crlf, [3] * (len(crlf) // 3))[0] == expected


def test_stream_without_include_usage_has_no_usage_chunk() -> None:
    output, translator = run_stream(START + TEXT_PART + END, include_usage=False)
    chunks = chunks_of(output)
    assert all(c["choices"] for c in chunks)
    assert all("usage" not in c for c in chunks)
    assert translator.usage is not None and translator.usage["completion_tokens"] == 42


def test_an_interrupted_stream_has_no_done_and_counts_output_chunks_as_usage() -> None:
    output, translator = run_stream(START + TEXT_PART)
    assert not translator.completed
    assert b"[DONE]" not in output
    assert translator.finish() == b""
    assert translator.output_chunks == 2
    assert translator.usage == {
        "prompt_tokens": 135,
        "completion_tokens": 2,
        "total_tokens": 137,
        "prompt_tokens_details": {"cached_tokens": 100},
    }
    datas = [orjson.loads(d) for _, d in SSEParser().feed(output)]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in datas) == "Hello wörld 👋"


def test_usage_is_none_before_anything_arrived() -> None:
    translator = AnthropicStreamTranslator(model="m", include_usage=True)
    assert translator.feed(b'event: ping\ndata: {"type": "ping"}\n\n') == b""
    assert translator.usage is None
    assert translator.output_chunks == 0


def test_an_error_event_becomes_an_openai_error_event() -> None:
    error = sse(
        "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    output, translator = run_stream(START + TEXT_PART + error)
    events = [orjson.loads(d) for _, d in SSEParser().feed(output)]
    assert events[-1] == {
        "error": {
            "message": "Overloaded",
            "type": "server_error",
            "code": "overloaded",
            "param": None,
        }
    }
    assert translator.error == events[-1]
    assert translator.error_status == 503
    assert not translator.completed
    assert b"[DONE]" not in output


def test_the_openai_sdk_iterates_a_translated_stream() -> None:
    output, _ = run_stream(FULL_STREAM)
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=output
        )
    )
    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://portico.test/v1",
        http_client=httpx.Client(transport=transport),
    )
    stream = client.chat.completions.create(
        model="portico-claude",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello wörld 👋"
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 42
