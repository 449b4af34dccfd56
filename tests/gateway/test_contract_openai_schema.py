"""Portico's answers validated against OpenAI's published schema (fragments vendored in
``openai_schema/``, see its README): what the official SDKs and typed clients expect."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import orjson
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from gateway.adapters import SSEParser

pytestmark = pytest.mark.django_db(transaction=True)
HELLO = [{"role": "user", "content": "Say hello"}]
SCHEMAS = Path(__file__).parent / "openai_schema"
BASE = "https://openai-schema.invalid/"
REGISTRY = Registry().with_resources(
    (BASE + path.name, Resource.from_contents(json.loads(path.read_text())))
    for path in SCHEMAS.glob("*.json")
)
# Models on each kind of upstream: OpenAI-compatible, Anthropic (translated), built-in.
CHAT_MODELS = ["fake-llm", "flaky", "fake-claude", "portico/test-chat"]


def assert_valid(instance, schema: str) -> None:
    validator = Draft202012Validator({"$ref": BASE + schema}, registry=REGISTRY)
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(instance)
    ]
    assert not errors, f"not a valid {schema}:\n" + "\n".join(errors)


def call(server, key: str, method: str, path: str, body: dict | None = None) -> dict:
    response = httpx.request(
        method,
        server.url + path,
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=20,
    )
    assert response.status_code == 200, response.text
    return response.json()


def stream(server, key: str, path: str, body: dict) -> list[tuple[str | None, bytes]]:
    parser = SSEParser()
    events = []
    with httpx.stream(
        "POST", server.url + path, json=body, headers={"Authorization": f"Bearer {key}"}
    ) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            events += parser.feed(chunk)
    return events + parser.flush()


def test_the_schema_fragments_catch_what_they_should():
    with pytest.raises(AssertionError, match="logprobs"):
        choice = {"index": 0, "finish_reason": "stop"}
        choice["message"] = {"role": "assistant", "content": "hi", "refusal": None}
        body = {"id": "x", "object": "chat.completion", "created": 1, "model": "m"}
        assert_valid({**body, "choices": [choice]}, "chat_completion.json")
    with pytest.raises(AssertionError, match="upstream_stream_broken"):
        assert_valid(
            {"code": "upstream_stream_broken", "message": "cut"}, "response.json#/$defs/error"
        )


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_a_chat_completion_matches_openais_schema(server, make_key, model):
    body = {"model": model, "messages": HELLO, "max_tokens": 5}
    assert_valid(
        call(server, make_key(), "POST", "/v1/chat/completions", body), "chat_completion.json"
    )


@pytest.mark.parametrize("model", CHAT_MODELS)
@pytest.mark.parametrize("include_usage", [False, True])
def test_every_chat_completion_chunk_matches_openais_schema(server, make_key, model, include_usage):
    body = {
        "model": model,
        "messages": HELLO,
        "max_tokens": 5,
        "stream": True,
        "stream_options": {"include_usage": include_usage},
    }
    events = stream(server, make_key(), "/v1/chat/completions", body)
    assert events[-1] == (None, b"[DONE]")
    chunks = [orjson.loads(data) for _, data in events[:-1]]
    for chunk in chunks:
        assert_valid(chunk, "chat_completion_chunk.json")
        assert chunk["model"] == model
    assert (chunks[-1].get("usage") is not None) == include_usage


def test_an_embedding_response_matches_openais_schema(server, make_key):
    body = {"model": "fake-embed", "input": ["one", "two"]}
    assert_valid(
        call(server, make_key(), "POST", "/v1/embeddings", body), "embedding_response.json"
    )


def test_the_model_list_and_a_model_match_openais_schema(server, make_key):
    key = make_key()
    listed = call(server, key, "GET", "/v1/models")
    assert_valid(listed, "model.json#/$defs/list")
    for model in ("portico/test-chat", "fake-embed"):
        assert_valid(call(server, key, "GET", f"/v1/models/{model}"), "model.json")


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_a_response_matches_openais_schema(server, make_key, model):
    body = {"model": model, "input": "Hi", "instructions": "Be brief.", "max_output_tokens": 5}
    assert_valid(call(server, make_key(), "POST", "/v1/responses", body), "response.json")


def test_a_streamed_response_matches_openais_schema(server, make_key):
    body = {"model": "fake-llm", "input": "Hi", "stream": True}
    events = {
        name: orjson.loads(data) for name, data in stream(server, make_key(), "/v1/responses", body)
    }
    assert_valid(events["response.output_text.delta"], "response.json#/$defs/text_delta_event")
    assert_valid(events["response.completed"], "response.json#/$defs/completed_event")


def test_a_cut_responses_stream_fails_in_openais_schema(server, make_key, fake):
    fake.configure(drop_stream_after=2)
    body = {"model": "fake-llm", "input": "Hi", "stream": True}
    events = {
        name: orjson.loads(data) for name, data in stream(server, make_key(), "/v1/responses", body)
    }
    assert_valid(events["error"], "response.json#/$defs/error_event")
    assert_valid(events["response.failed"], "response.json#/$defs/failed_event")
    assert events["response.failed"]["response"]["error"]["code"] == "server_error"
