"""Fields OpenAI's clients expect: the built-in model's answer, a cut Responses stream."""

from __future__ import annotations

import httpx
import orjson
import pytest

from gateway.adapters import SSEParser
from tests.gateway.conftest import drained_records

pytestmark = pytest.mark.django_db(transaction=True)
HELLO = [{"role": "user", "content": "Say hello"}]


def post(server, key: str, path: str, body: dict) -> httpx.Response:
    return httpx.post(
        server.url + path, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=20
    )


def sse_events(server, key: str, path: str, body: dict) -> list[tuple[str | None, dict | str]]:
    parser = SSEParser()
    events = []
    with httpx.stream(
        "POST", server.url + path, json=body, headers={"Authorization": f"Bearer {key}"}
    ) as response:
        for chunk in response.iter_bytes():
            events += parser.feed(chunk)
    events += parser.flush()
    return [
        (name, data.decode() if data == b"[DONE]" else orjson.loads(data)) for name, data in events
    ]


def test_the_built_in_model_answers_with_null_logprobs_and_refusal(server, make_key):
    body = {"model": "portico/test-chat", "messages": HELLO, "max_tokens": 3}
    [choice] = post(server, make_key(), "/v1/chat/completions", body).json()["choices"]
    assert choice["logprobs"] is None
    assert choice["message"]["refusal"] is None


def test_the_built_in_model_streams_chunks_with_null_logprobs(server, make_key):
    body = {"model": "portico/test-chat", "messages": HELLO, "max_tokens": 3, "stream": True}
    chunks = [data for _, data in sse_events(server, make_key(), "/v1/chat/completions", body)]
    assert chunks[-1] == "[DONE]"
    assert all(choice["logprobs"] is None for chunk in chunks[:-1] for choice in chunk["choices"])


def test_a_cut_responses_stream_fails_with_server_error(server, make_key, fake):
    fake.configure(drop_stream_after=3)
    body = {"model": "fake-llm", "input": "Hi", "stream": True}
    events = dict(sse_events(server, make_key(), "/v1/responses", body)[-2:])
    error, failed = events["error"], events["response.failed"]["response"]
    assert error["code"] == "server_error" and error["message"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "server_error"
    [message] = failed["output"]
    [part] = message["content"]
    assert message["status"] == "incomplete"
    assert part == {"type": "output_text", "text": part["text"], "annotations": [], "logprobs": []}
    assert part["text"] and failed["output_text"] == part["text"]
    # Portico's own record keeps the precise reason.
    [record] = drained_records()
    assert record.status == "error" and record.error_code == "upstream_stream_broken"


def test_streamed_chunks_name_the_public_model_not_the_upstream_one(client, fake):
    # "flaky" is served by the fake upstream's "flaky-primary", which names itself in chunks.
    chunks = list(
        client.chat.completions.create(
            model="flaky",
            messages=HELLO,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert fake.last_request()["body"]["model"] == "flaky-primary"
    assert {c.model for c in chunks} == {"flaky"}
    assert chunks[-1].usage.completion_tokens == 16
    assert client.chat.completions.create(model="flaky", messages=HELLO).model == "flaky"


def test_the_failover_deployment_is_renamed_too(client, fake):
    fake.configure(per_model={"flaky-primary": {"fail_status": 503, "fail_count": 1}})
    chunks = list(client.chat.completions.create(model="flaky", messages=HELLO, stream=True))
    assert fake.last_request()["body"]["model"] == "fake-llm"
    assert {c.model for c in chunks} == {"flaky"}
