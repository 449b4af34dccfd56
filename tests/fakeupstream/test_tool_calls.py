"""The fake upstream speaks tool calls (forced, auto, never) and answers a set text."""

from __future__ import annotations

import json

import openai

from fakeupstream import FakeUpstream

SEARCH = {
    "type": "function",
    "function": {
        "name": "search",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["query", "limit"],
        },
    },
}
OTHER = {"type": "function", "function": {"name": "other", "parameters": {"type": "object"}}}
ASK = [{"role": "user", "content": "Where is the lighthouse?"}]


def test_a_forced_tool_choice_gets_a_call_with_the_question_as_its_string_arguments(
    client: openai.OpenAI,
) -> None:
    answer = client.chat.completions.create(
        model="fake-llm", messages=ASK, tools=[OTHER, SEARCH], tool_choice="required"
    )
    [call] = answer.choices[0].message.tool_calls
    assert answer.choices[0].finish_reason == "tool_calls"
    assert answer.choices[0].message.content is None
    assert call.function.name == "other"  # the first tool, whose schema asks nothing
    assert json.loads(call.function.arguments) == {}

    named = client.chat.completions.create(
        model="fake-llm",
        messages=ASK,
        tools=[OTHER, SEARCH],
        tool_choice={"type": "function", "function": {"name": "search"}},
    )
    [call] = named.choices[0].message.tool_calls
    assert call.function.name == "search" and call.id.startswith("call_")
    assert json.loads(call.function.arguments) == {"query": "Where is the lighthouse?"}


def test_auto_calls_until_a_tool_result_comes_back_always_calls_and_never_ignores_tools(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    plain = client.chat.completions.create(model="fake-llm", messages=ASK, tools=[SEARCH])
    assert plain.choices[0].message.tool_calls is None  # "forced" is the default

    upstream.configure(tool_calls="auto", tool_arguments={"query": "lighthouse", "limit": 2})
    called = client.chat.completions.create(model="fake-llm", messages=ASK, tools=[SEARCH])
    [call] = called.choices[0].message.tool_calls
    assert json.loads(call.function.arguments) == {"query": "lighthouse", "limit": 2}
    answered = [
        *ASK,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "[1] Pharos"},
    ]
    final = client.chat.completions.create(model="fake-llm", messages=answered, tools=[SEARCH])
    assert final.choices[0].message.tool_calls is None and final.choices[0].message.content

    upstream.configure(tool_calls="always")
    again = client.chat.completions.create(model="fake-llm", messages=answered, tools=[SEARCH])
    assert again.choices[0].message.tool_calls[0].function.name == "search"

    upstream.configure(tool_calls="never")
    ignored = client.chat.completions.create(
        model="fake-llm", messages=ASK, tools=[SEARCH], tool_choice="required"
    )
    assert ignored.choices[0].message.tool_calls is None


def test_a_streamed_call_is_one_delta_then_its_finish_and_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="fake-llm",
            messages=ASK,
            tools=[SEARCH],
            tool_choice="required",
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    head, finish, usage = chunks
    [delta] = head.choices[0].delta.tool_calls
    assert delta.index == 0 and delta.function.name == "search"
    assert finish.choices[0].finish_reason == "tool_calls"
    assert usage.usage.completion_tokens > 0


def test_a_completion_text_replaces_the_lorem_ipsum(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.configure(completion_text="The lighthouse stood at Pharos [1].")
    answer = client.chat.completions.create(model="fake-llm", messages=ASK)
    assert answer.choices[0].message.content == "The lighthouse stood at Pharos [1]."
    assert answer.usage.completion_tokens == 6
    cut = client.chat.completions.create(model="fake-llm", messages=ASK, max_tokens=2)
    assert cut.choices[0].message.content == "The lighthouse"
    assert cut.choices[0].finish_reason == "length"
