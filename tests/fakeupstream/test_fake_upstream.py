"""The fake upstream behaves like OpenAI / Anthropic on the wire and obeys its knobs."""

from __future__ import annotations

import asyncio
import base64
import struct
import time
from collections.abc import Callable
from typing import Any

import httpx
import httpx2
import openai
import orjson
import pytest

from fakeupstream import (
    FakeUpstream,
    anthropic_input_tokens,
    completion_text,
    completion_tokens_list,
    embedding_vector,
    messages_tokens,
)

HELLO = [{"role": "user", "content": "hello world"}]  # 4 + ceil(11 / 4) = 7 prompt tokens
STREAM_BROKEN = (httpx.TransportError, httpx2.TransportError, openai.APIError)


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "it") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def sse_events(response: httpx.Response) -> list[tuple[str | None, Any]]:
    """(event name, parsed data) for each SSE event of a fully read response."""
    events: list[tuple[str | None, Any]] = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        name, data = None, None
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:] if line[6:] == "[DONE]" else orjson.loads(line[6:])
        events.append((name, data))
    return events


def anthropic_body(**extra: Any) -> dict[str, Any]:
    return {"model": "fake-llm", "max_tokens": 100, "messages": HELLO, **extra}


# --- OpenAI: models and chat ------------------------------------------------------------


def test_it_lists_the_configured_models(upstream: FakeUpstream, client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["fake-llm", "fake-llm-2", "fake-embed"]

    upstream.configure(models=["a", "b"])

    models = list(client.models.list())
    assert [m.id for m in models] == ["a", "b"]
    assert all(m.owned_by == "fake" and m.object == "model" for m in models)
    assert client.models.retrieve("b").id == "b"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("fake-llm")


def test_it_answers_a_chat_completion_with_deterministic_text_and_usage(
    client: openai.OpenAI,
) -> None:
    completion = client.chat.completions.create(model="fake-llm", messages=HELLO)

    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "fake-llm"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == completion_text(16)
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 7 == messages_tokens(HELLO)
    assert completion.usage.completion_tokens == 16
    assert completion.usage.total_tokens == 23


@pytest.mark.parametrize("param", ["max_tokens", "max_completion_tokens"])
def test_it_truncates_at_max_tokens_with_finish_reason_length(
    client: openai.OpenAI, param: str
) -> None:
    completion = client.chat.completions.create(model="fake-llm", messages=HELLO, **{param: 5})

    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == "lorem ipsum dolor sit amet "
    assert completion.usage is not None and completion.usage.completion_tokens == 5


def test_it_cuts_the_completion_before_a_stop_sequence(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="fake-llm", messages=HELLO, stop=["xyz", "sit"]
    )

    assert completion.choices[0].message.content == "lorem ipsum dolor "
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens == 3


def test_it_counts_prompt_tokens_over_all_messages_and_text_parts(client: openai.OpenAI) -> None:
    messages: list[Any] = [
        {"role": "system", "content": "x" * 10},
        {"role": "user", "content": [{"type": "text", "text": "y" * 9}]},
    ]

    completion = client.chat.completions.create(model="fake-llm", messages=messages)

    assert completion.usage is not None
    assert completion.usage.prompt_tokens == (4 + 3) + (4 + 3) == messages_tokens(messages)


def test_it_streams_one_token_per_chunk(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    upstream.configure(completion_tokens=6)

    chunks = list(
        client.chat.completions.create(
            model="fake-llm",
            messages=HELLO,
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    first, *tokens, finish, usage = chunks
    assert first.choices[0].delta.role == "assistant"
    assert [c.choices[0].delta.content for c in tokens] == completion_tokens_list(6)
    assert finish.choices[0].finish_reason == "stop"
    assert usage.choices == []
    assert usage.usage is not None
    assert (usage.usage.prompt_tokens, usage.usage.completion_tokens) == (7, 6)
    assert all(c.usage is None for c in chunks[:-1])


def test_it_ends_streams_with_done_and_no_usage_unless_asked(http: httpx.Client) -> None:
    body = {"model": "fake-llm", "messages": HELLO, "stream": True, "max_tokens": 2}

    response = http.post("/v1/chat/completions", json=body)

    assert response.headers["content-type"].startswith("text/event-stream")
    events = [data for _, data in sse_events(response)]
    assert events[-1] == "[DONE]"
    assert [e["choices"][0]["finish_reason"] for e in events[:-1]] == [None, None, None, "length"]
    assert all("usage" not in e for e in events[:-1])


# --- OpenAI: embeddings -----------------------------------------------------------------


def test_it_returns_deterministic_unit_embeddings(client: openai.OpenAI) -> None:
    first = client.embeddings.create(
        model="fake-embed", input=["alpha", "beta"], encoding_format="float"
    )
    again = client.embeddings.create(model="fake-embed", input="alpha", encoding_format="float")

    vectors = [d.embedding for d in first.data]
    assert [d.index for d in first.data] == [0, 1]
    assert all(len(v) == 256 for v in vectors)
    assert vectors[0] == again.data[0].embedding
    assert vectors[0] != vectors[1]
    assert sum(x * x for x in vectors[0]) == pytest.approx(1.0, abs=1e-5)
    assert first.usage.prompt_tokens == 3  # ceil(5/4) + ceil(4/4)
    assert first.usage.total_tokens == 3


def test_it_returns_base64_little_endian_float32_embeddings(
    client: openai.OpenAI, http: httpx.Client, upstream: FakeUpstream
) -> None:
    raw = http.post(
        "/v1/embeddings",
        json={
            "model": "fake-embed",
            "input": "alpha",
            "encoding_format": "base64",
            "dimensions": 8,
        },
    ).json()
    decoded = struct.unpack("<8f", base64.b64decode(raw["data"][0]["embedding"]))

    assert decoded == pytest.approx(embedding_vector("alpha", 8).tolist(), abs=0)
    # Left to itself the SDK asks for base64 and decodes it.
    via_sdk = client.embeddings.create(model="fake-embed", input="alpha", dimensions=8)
    assert upstream.last_request()["body"]["encoding_format"] == "base64"  # type: ignore[index]
    assert via_sdk.data[0].embedding == list(decoded)


def test_it_honours_dimensions_and_accepts_token_id_inputs(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.configure(embedding_dims=32)

    default = client.embeddings.create(
        model="fake-embed", input=[[1, 2, 3], [4]], encoding_format="float"
    )
    sized = client.embeddings.create(
        model="fake-embed", input=[1, 2], dimensions=12, encoding_format="float"
    )

    assert [len(d.embedding) for d in default.data] == [32, 32]
    assert default.usage.prompt_tokens == 4
    assert len(sized.data) == 1 and len(sized.data[0].embedding) == 12


# --- Anthropic --------------------------------------------------------------------------


def test_it_answers_anthropic_messages_with_usage(http: httpx.Client) -> None:
    body = anthropic_body(system="be brief", temperature=0.2, top_p=0.9)

    response = http.post("/v1/messages", json=body, headers={"x-api-key": "k"})

    message = response.json()
    assert response.status_code == 200
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["id"].startswith("msg_")
    assert message["content"] == [{"type": "text", "text": completion_text(16)}]
    assert (message["stop_reason"], message["stop_sequence"]) == ("end_turn", None)
    input_tokens = anthropic_input_tokens("be brief", HELLO)
    assert input_tokens == 7 + (4 + 2)
    assert message["usage"] == {"input_tokens": input_tokens, "output_tokens": 16}


def test_it_reports_anthropic_max_tokens_and_stop_sequences(http: httpx.Client) -> None:
    capped = http.post("/v1/messages", json=anthropic_body(max_tokens=2)).json()
    stopped = http.post("/v1/messages", json=anthropic_body(stop_sequences=["amet"])).json()

    assert capped["stop_reason"] == "max_tokens"
    assert capped["usage"]["output_tokens"] == 2
    assert stopped["stop_reason"] == "stop_sequence"
    assert stopped["stop_sequence"] == "amet"
    assert stopped["content"][0]["text"] == "lorem ipsum dolor sit "


def test_it_requires_max_tokens_on_anthropic_messages(http: httpx.Client) -> None:
    response = http.post("/v1/messages", json={"model": "fake-llm", "messages": HELLO})

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in body["error"]["message"]


def test_it_streams_the_anthropic_event_sequence(
    http: httpx.Client, upstream: FakeUpstream
) -> None:
    upstream.configure(completion_tokens=3)

    response = http.post(
        "/v1/messages",
        json=anthropic_body(stream=True, system=[{"type": "text", "text": "sys"}]),
    )

    events = sse_events(response)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in events)
    start = events[0][1]["message"]
    assert start["usage"]["input_tokens"] == anthropic_input_tokens("sys", HELLO)
    deltas = [data["delta"] for name, data in events if name == "content_block_delta"]
    assert deltas == [{"type": "text_delta", "text": t} for t in completion_tokens_list(3)]
    message_delta = events[-2][1]
    assert message_delta["delta"]["stop_reason"] == "end_turn"
    assert message_delta["usage"] == {"output_tokens": 3}


# --- fault injection --------------------------------------------------------------------


def test_it_fails_the_next_n_requests_then_recovers(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.configure(fail_status=500, fail_count=2)

    for _ in range(2):
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model="fake-llm", messages=HELLO)
        assert caught.value.status_code == 500
        assert caught.value.body["type"] == "server_error"  # type: ignore[index]
    completion = client.chat.completions.create(model="fake-llm", messages=HELLO)

    assert completion.choices[0].message.content == completion_text(16)
    tally = upstream.tally()
    assert (tally["requests"], tally["failed"]) == (3, 2)
    assert tally["completion_tokens"] == 16
    assert upstream.config()["fail_count"] == 0


def test_it_shapes_injected_errors_like_each_provider(
    http: httpx.Client, upstream: FakeUpstream
) -> None:
    upstream.configure(fail_status=429, fail_headers={"Retry-After": "7"})

    openai_error = http.post("/v1/embeddings", json={"model": "m", "input": "x"})
    anthropic_error = http.post("/v1/messages", json=anthropic_body())
    upstream.configure(fail_status=503, fail_body={"custom": True})
    custom = http.post("/v1/chat/completions", json={"model": "m", "messages": HELLO})

    assert openai_error.status_code == 429
    assert openai_error.headers["retry-after"] == "7"
    assert openai_error.json()["error"]["code"] == "rate_limit_exceeded"
    assert set(openai_error.json()["error"]) == {"message", "type", "param", "code"}
    assert anthropic_error.status_code == 429
    assert anthropic_error.json()["type"] == "error"
    assert anthropic_error.json()["error"]["type"] == "rate_limit_error"
    assert (custom.status_code, custom.json()) == (503, {"custom": True})


def test_it_injects_faults_per_model(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    upstream.configure(per_model={"fake-llm-2": {"fail_status": 503, "completion_tokens": 2}})

    healthy = client.chat.completions.create(model="fake-llm", messages=HELLO)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="fake-llm-2", messages=HELLO)
    upstream.configure(per_model={"fake-llm-2": {"fail_status": None}})
    short = client.chat.completions.create(model="fake-llm-2", messages=HELLO)

    assert healthy.usage is not None and healthy.usage.completion_tokens == 16
    assert caught.value.status_code == 503
    assert short.usage is not None and short.usage.completion_tokens == 2


def test_it_applies_per_request_override_headers(client: openai.OpenAI, http: httpx.Client) -> None:
    short = client.chat.completions.create(
        model="fake-llm", messages=HELLO, extra_headers={"x-fake-completion-tokens": "3"}
    )
    teapot = http.post(
        "/v1/chat/completions",
        json={"model": "fake-llm", "messages": HELLO},
        headers={"x-fake-fail-status": "418"},
    )
    bad = http.post(
        "/v1/chat/completions",
        json={"model": "fake-llm", "messages": HELLO},
        headers={"x-fake-latency-ms": "soon"},
    )

    assert short.usage is not None and short.usage.completion_tokens == 3
    assert teapot.status_code == 418
    assert bad.status_code == 400


def test_it_hangs_until_the_client_times_out(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    upstream.configure(hang=True)

    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.3).chat.completions.create(model="fake-llm", messages=HELLO)

    assert time.monotonic() - started >= 0.3
    wait_until(lambda: upstream.tally()["cancelled"] == 1, what="the hang to be cancelled")
    assert upstream.tally()["completion_tokens"] == 0


def test_it_delays_the_response_by_latency_and_hang_ms(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.configure(latency_ms=150, per_model={"fake-llm-2": {"hang_ms": 100}})

    started = time.monotonic()
    client.chat.completions.create(model="fake-llm", messages=HELLO)
    middle = time.monotonic()
    client.chat.completions.create(model="fake-llm-2", messages=HELLO)
    ended = time.monotonic()

    assert middle - started >= 0.15
    assert ended - middle >= 0.25


def test_it_drops_a_stream_after_k_tokens(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    upstream.configure(drop_stream_after=3)
    received: list[str] = []

    with pytest.raises(STREAM_BROKEN):
        for chunk in client.chat.completions.create(model="fake-llm", messages=HELLO, stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)

    assert received == completion_tokens_list(3)
    tally = upstream.tally()
    assert (tally["dropped"], tally["completion_tokens"], tally["cancelled"]) == (1, 3, 0)


def test_it_drops_anthropic_streams_too(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.configure(drop_stream_after=0)

    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("POST", "/v1/messages", json=anthropic_body(stream=True)) as response,
    ):
        response.read()

    assert upstream.tally()["dropped"] == 1


# --- tally, disconnects, request log ----------------------------------------------------


def test_it_tallies_tokens_exactly_across_routes_and_models(
    client: openai.OpenAI, http: httpx.Client, upstream: FakeUpstream
) -> None:
    plain = client.chat.completions.create(model="fake-llm", messages=HELLO, max_tokens=4)
    streamed = list(
        client.chat.completions.create(
            model="fake-llm-2",
            messages=HELLO * 2,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    embedded = client.embeddings.create(model="fake-embed", input=["abcdefgh"] * 3)
    anthropic = http.post("/v1/messages", json=anthropic_body(max_tokens=5)).json()

    usages = [
        (plain.usage.prompt_tokens, plain.usage.completion_tokens),  # type: ignore[union-attr]
        (streamed[-1].usage.prompt_tokens, streamed[-1].usage.completion_tokens),  # type: ignore[union-attr]
        (embedded.usage.prompt_tokens, 0),
        (anthropic["usage"]["input_tokens"], anthropic["usage"]["output_tokens"]),
    ]
    assert usages == [(7, 4), (14, 16), (6, 0), (7, 5)]
    tally = upstream.tally()
    assert tally["requests"] == 4
    assert tally["prompt_tokens"] == 7 + 14 + 6 + 7
    assert tally["completion_tokens"] == 4 + 16 + 5
    assert tally["by_model"] == {
        "fake-llm": {"requests": 2, "prompt_tokens": 14, "completion_tokens": 9},
        "fake-llm-2": {"requests": 1, "prompt_tokens": 14, "completion_tokens": 16},
        "fake-embed": {"requests": 1, "prompt_tokens": 6, "completion_tokens": 0},
    }


def test_it_counts_only_tokens_sent_before_a_client_disconnect(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    upstream.configure(completion_tokens=200, token_interval_ms=40)
    k = 5
    received = 0

    stream = client.chat.completions.create(model="fake-llm", messages=HELLO, stream=True)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            received += 1
            if received == k:
                break
    stream.close()

    tally = wait_until(
        lambda: (t := upstream.tally())["cancelled"] == 1 and t, what="the disconnect"
    )
    # The server sends token k+1 40 ms after token k; the client closes right after reading
    # token k, so normally exactly k were sent. One more is possible only if the close takes
    # longer than a token interval to reach the server (a slow CI machine), hence k + 1.
    assert k <= tally["completion_tokens"] <= k + 1
    assert tally["prompt_tokens"] == 7


def test_it_records_the_last_request_with_unknown_params_and_headers(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    client.chat.completions.create(
        model="fake-llm",
        messages=HELLO,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"vendor_knob": {"a": 1}},
        extra_headers={"X-Trace": "abc"},
    ).close()

    last = upstream.last_request()

    assert last is not None
    assert (last["method"], last["path"]) == ("POST", "/v1/chat/completions")
    assert last["body"]["vendor_knob"] == {"a": 1}
    assert last["body"]["stream_options"] == {"include_usage": True}
    assert last["headers"]["authorization"] == "Bearer sk-test"
    assert last["headers"]["x-trace"] == "abc"
    assert [r["path"] for r in upstream.requests()] == ["/v1/chat/completions"]


def test_it_requires_the_configured_api_key(http: httpx.Client, upstream: FakeUpstream) -> None:
    upstream.configure(api_key="secret")
    chat = {"model": "fake-llm", "messages": HELLO}

    wrong = http.post("/v1/chat/completions", json=chat, headers={"authorization": "Bearer no"})
    right = http.post("/v1/chat/completions", json=chat, headers={"authorization": "Bearer secret"})
    anthropic = http.post("/v1/messages", json=anthropic_body(), headers={"x-api-key": "secret"})
    anthropic_wrong = http.post("/v1/messages", json=anthropic_body())

    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_api_key")
    assert right.status_code == 200
    assert anthropic.status_code == 200
    assert anthropic_wrong.json()["error"]["type"] == "authentication_error"


def test_it_rejects_bad_requests_and_unknown_routes(
    http: httpx.Client, upstream: FakeUpstream
) -> None:
    upstream.configure(strict_models=True)

    not_json = http.post("/v1/chat/completions", content=b"{nope")
    unknown_model = http.post("/v1/chat/completions", json={"model": "gpt-9", "messages": HELLO})
    no_route = http.get("/v1/nothing")
    bad_config = http.post("/_control/config", json={"latency": 5})

    assert not_json.status_code == 400
    assert (unknown_model.status_code, unknown_model.json()["error"]["code"]) == (
        404,
        "model_not_found",
    )
    assert no_route.status_code == 404
    assert bad_config.status_code == 400
    assert "latency" in bad_config.json()["error"]


def test_it_resets_config_and_tally_to_the_startup_state() -> None:
    with FakeUpstream.start(completion_tokens=4, models=["only"]) as upstream:
        upstream.configure(completion_tokens=9, fail_status=500)
        httpx.post(upstream.base_url + "/embeddings", json={"model": "m", "input": "x"})
        assert upstream.tally()["requests"] == 1

        config = upstream.reset()

        assert (config["completion_tokens"], config["fail_status"]) == (4, None)
        assert config["models"] == ["only"]
        assert upstream.tally()["requests"] == 0
        assert upstream.last_request() is None


# --- running it ---------------------------------------------------------------------------


def test_it_runs_as_a_subprocess_announcing_one_listening_line() -> None:
    upstream = FakeUpstream.start_process(completion_tokens=3, models=["p1", "p2"])
    try:
        assert upstream.url.startswith("http://127.0.0.1:")
        chat = httpx.post(
            upstream.base_url + "/chat/completions", json={"model": "p1", "messages": HELLO}
        ).json()
        assert chat["usage"]["completion_tokens"] == 3
        assert [m["id"] for m in httpx.get(upstream.base_url + "/models").json()["data"]] == [
            "p1",
            "p2",
        ]
        assert upstream.tally()["completion_tokens"] == 3
    finally:
        upstream.stop()
    assert upstream.process.returncode is not None


async def _raw_stream(host: str, port: int, request: bytes) -> int:
    """One streamed chat over a bare socket (httpx's pool would be the bottleneck here);
    returns the number of JSON events received."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request)
    received = await reader.readuntil(b"data: [DONE]")
    writer.close()
    return received.count(b"data: {")


def test_it_serves_a_thousand_concurrent_streams(upstream: FakeUpstream) -> None:
    upstream.configure(completion_tokens=10, token_interval_ms=50)
    streams = 1000
    host, port = upstream.url.removeprefix("http://").split(":")
    body = orjson.dumps({"model": "fake-llm", "messages": HELLO, "stream": True})
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: fake\r\n"
        b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    )

    async def run() -> list[int]:
        return await asyncio.gather(
            *(_raw_stream(host, int(port), request) for _ in range(streams))
        )

    started = time.monotonic()
    counts = asyncio.run(run())

    assert counts == [12] * streams  # role chunk + 10 tokens + finish chunk
    assert upstream.tally()["completion_tokens"] == 10 * streams
    # Each stream lasts 9 x 50 ms; one after the other they would take 450 s. The bound
    # proves they ran concurrently, with room for a machine busy with other work.
    assert time.monotonic() - started < 150
