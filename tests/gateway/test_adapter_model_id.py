"""The public model id in streamed chunks, replaced as bytes and decoded only when needed."""

from __future__ import annotations

import orjson

from gateway.adapters import StreamModelRewriter


def chunk(model: str, content: str = "hi") -> bytes:
    payload = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": model,
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
    }
    return b"data: " + orjson.dumps(payload)


def model_of(event: bytes) -> str:
    return orjson.loads(event.removeprefix(b"data: "))["model"]


def test_it_replaces_the_upstream_id_with_the_public_id():
    rewriter = StreamModelRewriter("deep-sa/alLLM", "llama-3.3-70b-versatile")
    out = rewriter.rewrite(chunk("llama-3.3-70b-versatile"))
    assert out == chunk("deep-sa/alLLM")


def test_chunks_that_need_nothing_pass_as_the_same_bytes():
    rewriter = StreamModelRewriter("flaky", "fake-llm")
    for event in (chunk("flaky"), b"data: [DONE]", b'data: {"choices":[]}'):
        assert rewriter.rewrite(event) is event


def test_text_that_mentions_a_model_key_is_left_alone():
    rewriter = StreamModelRewriter("public", "upstream")
    event = chunk("upstream", content='say "model":"upstream" twice')
    out = rewriter.rewrite(event)
    assert model_of(out) == "public"
    delta = orjson.loads(out.removeprefix(b"data: "))["choices"][0]["delta"]
    assert delta["content"] == 'say "model":"upstream" twice'


def test_an_id_it_did_not_expect_is_decoded_once_then_replaced_as_bytes(monkeypatch):
    rewriter = StreamModelRewriter("gpt-4o", "gpt-4o")
    assert model_of(rewriter.rewrite(chunk("gpt-4o-2024-08-06"))) == "gpt-4o"
    decoded = []
    monkeypatch.setattr(
        StreamModelRewriter, "_decode_and_rewrite", lambda self, e: decoded.append(e) or e
    )
    assert rewriter.rewrite(chunk("gpt-4o-2024-08-06")) == chunk("gpt-4o")
    assert decoded == []


def test_spaced_json_and_event_lines_are_handled():
    rewriter = StreamModelRewriter("public", "upstream")
    event = b'event: chunk\ndata: {"model": "upstream", "choices": []}'
    out = rewriter.rewrite(event)
    assert out.startswith(b"event: chunk\ndata: ")
    assert orjson.loads(out.partition(b"data: ")[2]) == {"model": "public", "choices": []}


def test_ids_that_need_json_escaping_are_encoded():
    rewriter = StreamModelRewriter('we"ird/model', "upstream")
    assert model_of(rewriter.rewrite(chunk("upstream"))) == 'we"ird/model'


def test_a_spaced_upstream_is_decoded_once_then_replaced_as_bytes(monkeypatch):
    rewriter = StreamModelRewriter("public", "upstream-2024")
    spaced = b'data: {"model": "upstream-2025", "choices": []}'
    assert orjson.loads(rewriter.rewrite(spaced).removeprefix(b"data: "))["model"] == "public"
    decoded = []
    monkeypatch.setattr(
        StreamModelRewriter, "_decode_and_rewrite", lambda self, e: decoded.append(e) or e
    )
    for event in (spaced, b'data: {"model": "upstream-2024", "choices": []}'):
        out = rewriter.rewrite(event)
        assert orjson.loads(out.removeprefix(b"data: ")) == {"model": "public", "choices": []}
    assert decoded == []


def test_a_block_of_events_is_rewritten_at_once_and_each_new_id_still_caught():
    rewriter = StreamModelRewriter("public", "upstream")
    events = [chunk("upstream", "a"), chunk("upstream-2025", "b"), b"data: [DONE]"]
    out = rewriter.rewrite_block(b"\n\n".join(events)).split(b"\n\n")
    assert [model_of(e) for e in out[:2]] == ["public", "public"]
    assert out[2] == b"data: [DONE]"
    assert orjson.loads(out[1].removeprefix(b"data: "))["choices"][0]["delta"]["content"] == "b"
