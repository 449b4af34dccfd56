"""Tests for the incremental SSE parser."""

from __future__ import annotations

import random

from gateway.adapters.sse import SSEParser, format_event

STREAM = (
    b": keep-alive comment\n"
    b"event: message_start\n"
    b'data: {"type":"message_start"}\n'
    b"\n"
    b"data: first line\n"
    b"data: second line\n"
    b"\n"
    b"event: ping\r\n"
    b'data: {"type": "ping"}\r\n'
    b"\r\n"
    b"data:no-space\r"
    b"\r"
    b"data: caf\xc3\xa9 \xf0\x9f\x91\x8b\n"
    b"\n"
    b"data: [DONE]\n"
    b"\n"
)
EXPECTED = [
    ("message_start", b'{"type":"message_start"}'),
    (None, b"first line\nsecond line"),
    ("ping", b'{"type": "ping"}'),
    (None, b"no-space"),
    (None, "café 👋".encode()),
    (None, b"[DONE]"),
]


def feed_in_pieces(data: bytes, sizes: list[int]) -> list[tuple[str | None, bytes]]:
    parser = SSEParser()
    events = []
    pos = 0
    for size in sizes:
        events.extend(parser.feed(data[pos : pos + size]))
        pos += size
    events.extend(parser.feed(data[pos:]))
    return events


def test_it_parses_a_whole_stream_in_one_chunk() -> None:
    assert SSEParser().feed(STREAM) == EXPECTED


def test_it_yields_identical_events_when_fed_one_byte_at_a_time() -> None:
    assert feed_in_pieces(STREAM, [1] * len(STREAM)) == EXPECTED


def test_it_yields_identical_events_for_random_splits() -> None:
    rng = random.Random(1234)
    for _ in range(200):
        sizes = [rng.randint(0, 9) for _ in range(len(STREAM))]
        assert feed_in_pieces(STREAM, sizes) == EXPECTED


def test_it_treats_crlf_split_across_chunks_as_one_line_ending() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n\r") == [(None, b"a")]
    assert parser.feed(b"\ndata: b\n\n") == [(None, b"b")]


def test_it_ignores_comment_lines() -> None:
    assert SSEParser().feed(b":ping\n: another\n\ndata: x\n\n") == [(None, b"x")]


def test_it_strips_only_one_space_after_the_colon() -> None:
    assert SSEParser().feed(b"data:  two spaces\n\n") == [(None, b" two spaces")]


def test_it_does_not_dispatch_an_event_without_data_lines() -> None:
    parser = SSEParser()
    assert parser.feed(b"event: lonely\n\n") == []
    # ...and the event name does not leak into the next event.
    assert parser.feed(b"data: x\n\n") == [(None, b"x")]


def test_it_dispatches_an_empty_data_line() -> None:
    assert SSEParser().feed(b"data\n\n") == [(None, b"")]


def test_it_resets_the_event_name_after_each_dispatch() -> None:
    events = SSEParser().feed(b"event: a\ndata: 1\n\ndata: 2\n\n")
    assert events == [("a", b"1"), (None, b"2")]


def test_it_records_the_last_event_id_and_ignores_unknown_fields() -> None:
    parser = SSEParser()
    assert parser.feed(b"id: 7\nretry: 100\nfoo: bar\ndata: x\n\n") == [(None, b"x")]
    assert parser.last_event_id == "7"


def test_it_ignores_a_leading_byte_order_mark_even_when_split() -> None:
    data = b"\xef\xbb\xbfdata: x\n\n"
    assert SSEParser().feed(data) == [(None, b"x")]
    assert feed_in_pieces(data, [1, 1, 1]) == [(None, b"x")]


def test_flush_returns_an_event_missing_its_final_blank_line() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\n\ndata: tail") == [(None, b"a")]
    assert parser.flush() == [(None, b"tail")]
    assert parser.flush() == []


def test_it_parses_a_large_event_fed_in_many_small_chunks() -> None:
    payload = b"x" * 200_000
    data = b"data: " + payload + b"\n\n"
    parser = SSEParser()
    events = []
    for i in range(0, len(data), 7):
        events.extend(parser.feed(data[i : i + 7]))
    assert events == [(None, payload)]


def test_format_event_round_trips_through_the_parser() -> None:
    data = format_event(b'{"a":1}', "response.created") + format_event(b"[DONE]")
    assert SSEParser().feed(data) == [("response.created", b'{"a":1}'), (None, b"[DONE]")]
