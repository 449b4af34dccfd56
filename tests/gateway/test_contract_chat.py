"""Contract tests: Portico's real server, the fake upstream, the official openai SDK."""

from __future__ import annotations

import base64
import struct

import httpx
import pytest

from fakeupstream import completion_text
from tests.gateway.conftest import drained_records
from tests.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
HELLO = [{"role": "user", "content": "Say hello"}]


def test_it_answers_a_chat_completion_with_usage(client, fake):
    reply = client.chat.completions.create(model="fake-llm", messages=HELLO, max_tokens=5)
    assert reply.choices[0].message.content == completion_text(5)
    assert reply.choices[0].finish_reason == "length"
    assert reply.model == "fake-llm"
    assert reply.usage.completion_tokens == 5
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 5
    [record] = drained_records(request_id__startswith="req_")
    assert (record.prompt_tokens, record.completion_tokens, record.tokens_reported) == (
        reply.usage.prompt_tokens,
        5,
        True,
    )
    assert record.provider == "fake" and record.status == "ok" and record.source == "api_key"


def test_it_streams_chunks_and_ends_with_done(client, fake, server, make_key):
    stream = client.chat.completions.create(model="fake-llm", messages=HELLO, stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == completion_text(16)
    # The client did not ask for usage: the chunk Portico requested for metering is removed.
    assert all(not c.usage for c in chunks)
    assert fake.last_request()["body"]["stream_options"] == {"include_usage": True}
    [record] = drained_records()
    assert record.stream and record.completion_tokens == 16 and record.tokens_reported


def test_it_passes_the_usage_chunk_when_the_client_asks(client, fake):
    stream = client.chat.completions.create(
        model="fake-llm", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 16


def test_raw_stream_bytes_end_with_done(server, make_key):
    key = make_key()
    body = {"model": "fake-llm", "messages": HELLO, "stream": True}
    with httpx.stream(
        "POST",
        server.url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
    ) as response:
        raw = b"".join(response.iter_bytes())
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-ratelimit-limit"]
        assert response.headers["x-request-id"].startswith("req_")
    assert raw.endswith(b"data: [DONE]\n\n")


def test_it_passes_unknown_parameters_through(client, fake):
    client.chat.completions.create(
        model="fake-llm",
        messages=HELLO,
        seed=7,
        extra_body={"top_k": 3, "reasoning": {"effort": "low"}},
    )
    sent = fake.last_request()["body"]
    assert sent["seed"] == 7 and sent["top_k"] == 3 and sent["reasoning"] == {"effort": "low"}
    assert sent["model"] == "fake-llm"
    assert fake.last_request()["headers"]["authorization"] == "Bearer upstream-secret"


def test_a_model_is_addressable_as_provider_slash_model(client, fake):
    reply = client.chat.completions.create(model="backup/flaky", messages=HELLO)
    assert reply.choices[0].message.content
    assert fake.last_request()["body"]["model"] == "fake-llm"  # the backup deployment's name


def test_it_returns_embeddings_as_floats_and_base64(client, fake):
    floats = client.embeddings.create(model="fake-embed", input=["one", "two"], dimensions=8)
    assert [len(d.embedding) for d in floats.data] == [8, 8]
    raw = client.embeddings.with_raw_response.create(
        model="fake-embed", input="one", dimensions=8, encoding_format="base64"
    )
    encoded = raw.http_response.json()["data"][0]["embedding"]
    decoded = struct.unpack("<8f", base64.b64decode(encoded))
    assert decoded == pytest.approx(floats.data[0].embedding, rel=1e-6)
    records = drained_records()
    assert [r.endpoint for r in records] == ["embeddings", "embeddings"]
    assert records[0].prompt_tokens == floats.usage.prompt_tokens


def test_it_lists_the_models_the_key_may_use(client_for, make_key):
    everything = client_for(make_key()).models.list()
    ids = {m.id: m for m in everything.data}
    assert ids["fake-llm"].type == "llm" and ids["fake-embed"].type == "embedding"
    narrow = client_for(make_key(models=["fake-llm"])).models.list()
    assert [m.id for m in narrow.data] == ["fake-llm"]


def test_the_catalog_filters_by_provider_and_search(server, make_key):
    headers = {"Authorization": f"Bearer {make_key()}"}
    data = httpx.get(
        server.url + "/v1/models/catalog", headers=headers, params={"search": "claude"}
    ).json()["data"]
    assert [m["id"] for m in data] == ["fake-claude"]
    assert data[0]["pricing"] == {
        "input_per_1m": 3.0,
        "output_per_1m": 15.0,
        "cached_input_per_1m": None,
        "currency": "USD",
    }
    by_provider = httpx.get(
        server.url + "/v1/models/catalog", headers=headers, params={"provider": "local"}
    )
    assert [m["id"] for m in by_provider.json()["data"]] == ["portico/test-chat"]


def test_it_translates_to_and_from_anthropic(client, fake):
    reply = client.chat.completions.create(
        model="fake-claude",
        max_tokens=4,
        temperature=0.5,
        top_p=0.9,
        stop=["never"],
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Again"},
        ],
    )
    assert reply.choices[0].message.content == completion_text(4)
    assert reply.choices[0].finish_reason == "length"
    sent = fake.last_request()
    assert sent["path"] == "/v1/messages"
    assert sent["body"]["system"] == "Be brief."
    assert sent["body"]["max_tokens"] == 4 and sent["body"]["stop_sequences"] == ["never"]
    assert [m["role"] for m in sent["body"]["messages"]] == ["user", "assistant", "user"]
    stream = client.chat.completions.create(
        model="fake-claude", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(
        c.choices[0].delta.content or "" for c in chunks if c.choices
    ) == completion_text(16)
    assert chunks[-1].usage.completion_tokens == 16
    records = drained_records()
    assert [r.completion_tokens for r in records] == [4, 16]


def test_the_responses_api_works_plain_and_streamed(client, fake):
    response = client.responses.create(
        model="fake-llm", input="Hi", instructions="Be brief.", max_output_tokens=3
    )
    assert response.output_text == completion_text(3)
    assert response.usage.output_tokens == 3
    events = list(client.responses.create(model="fake-llm", input="Hi", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == completion_text(16)
    assert events[-1].response.usage.output_tokens == 16
    assert [r.endpoint for r in drained_records()] == ["responses", "responses"]


def test_the_local_test_model_works_offline(client):
    reply = client.chat.completions.create(model="portico/test-chat", messages=HELLO, max_tokens=7)
    assert reply.choices[0].message.content.startswith("Hello! I am Portico's built-in test model.")
    assert reply.usage.completion_tokens == 7
    text = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(
            model="portico/test-chat", messages=HELLO, stream=True
        )
        if c.choices
    )
    assert "built-in test model" in text


def test_exactness_the_upstream_tally_equals_the_usage_records(client, fake):
    fake.reset_tally()
    for index in range(4):
        client.chat.completions.create(
            model="fake-llm", messages=HELLO * (index + 1), max_tokens=3 + index
        )
        list(
            client.chat.completions.create(
                model="fake-llm", messages=HELLO, stream=True, max_tokens=2 + index
            )
        )
        client.embeddings.create(model="fake-embed", input=["alpha", "beta gamma"] * (index + 1))
    client.chat.completions.create(model="fake-claude", messages=HELLO, max_tokens=7)
    tally = fake.tally()
    records = drained_records()
    assert len(records) == 13
    assert sum(r.prompt_tokens for r in records) == tally["prompt_tokens"]
    assert sum(r.completion_tokens for r in records) == tally["completion_tokens"]
    assert all(r.tokens_reported for r in records)


def test_a_client_disconnect_cancels_the_upstream_and_meters_what_was_produced(
    server, make_key, fake
):
    fake.configure(token_interval_ms=40, completion_tokens=200)
    body = {"model": "fake-llm", "messages": HELLO, "stream": True}
    received = 0
    with httpx.stream(
        "POST",
        server.url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {make_key()}"},
        timeout=20,
    ) as response:
        for line in response.iter_lines():
            if '"content":"' in line and '"content":""' not in line:
                received += 1
            if received == 5:
                break
    wait_for(
        lambda: fake.tally()["cancelled"] == 1, timeout=10, what="the upstream to see the cancel"
    )
    [record] = wait_for(
        lambda: drained_records(), timeout=10, what="the cancelled request's usage record"
    )
    sent = fake.tally()["completion_tokens"]
    assert sent < 200
    assert record.status == "cancelled" and not record.tokens_reported
    # Metered from the chunks Portico read, which is at least what the client saw.
    assert received <= record.completion_tokens <= sent
    assert record.cost_usd > 0


def test_a_client_that_gives_up_before_the_answer_gets_a_cancelled_record_and_no_charge(
    server, make_key, fake
):
    from billing.models import Hold

    fake.configure(latency_ms=3000)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            server.url + "/v1/chat/completions",
            json={"model": "fake-llm", "messages": HELLO},
            headers={"Authorization": f"Bearer {make_key()}"},
            timeout=0.5,
        )
    [record] = wait_for(
        lambda: drained_records(), timeout=10, what="the cancelled request's record"
    )
    assert record.status == "cancelled" and record.cost_usd == 0
    assert not Hold.objects.filter(status="open").exists()
