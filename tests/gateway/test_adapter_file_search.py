"""The pure side of Responses' ``file_search``: the tool checked and taken out of the
request, the model's planned queries, the numbered results, and citations only for the
markers the model wrote."""

from __future__ import annotations

import orjson
import pytest

from gateway.adapters import AdapterError, ResponsesStreamTranslator
from gateway.adapters.responses_file_search import (
    MAX_QUERIES,
    FileSearchResult,
    citations,
    file_search_item,
    format_results,
    planned_queries,
    split_file_search,
    user_question,
)

FUNCTION = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}


def result(filename: str, start: int, end: int) -> FileSearchResult:
    return FileSearchResult("vs_1", f"file-{filename}", filename, 1.5, "text", {}, start, end)


def call(name: str, arguments: str) -> dict:
    return {"id": "c", "type": "function", "function": {"name": name, "arguments": arguments}}


def test_the_tool_leaves_the_request_checked_and_the_function_tools_stay():
    body = {
        "model": "m",
        "input": "q",
        "tools": [FUNCTION, {"type": "file_search", "vector_store_ids": ["vs_a", "vs_a", "vs_b"]}],
        "tool_choice": {"type": "file_search"},
        "include": ["file_search_call.results"],
    }
    spec, rest = split_file_search(body)
    assert spec.vector_store_ids == ("vs_a", "vs_b")  # each store searched once
    assert spec.max_num_results == 10 and spec.include_results
    assert rest["tools"] == [FUNCTION] and "tool_choice" not in rest
    assert body["tools"][1]["type"] == "file_search"  # the caller's body is untouched
    assert split_file_search({"input": "q"}) == (None, {"input": "q"})


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"include": "file_search_call.results"}, "include"),
        ({"include": [1]}, "include"),
        ({"tool": {"max_num_results": -1}}, "tools[0].max_num_results"),
        ({"tool": {"ranking_options": {"ranker": 5}}}, "tools[0].ranking_options.ranker"),
        (
            {"tool": {"ranking_options": {"score_threshold": True}}},
            "tools[0].ranking_options.score_threshold",
        ),
        ({"tool": {"vector_store_ids": ["vs_١٢"]}}, "tools[0].vector_store_ids[0]"),
        ({"tool": {"vector_store_ids": ["vs_a"] * 11}}, "tools[0].vector_store_ids"),
    ],
)
def test_bad_tool_input_names_its_parameter(body, param):
    tool = {"type": "file_search", "vector_store_ids": ["vs_a"], **body.pop("tool", {})}
    with pytest.raises(AdapterError) as refused:
        split_file_search({"tools": [tool], **body})
    assert refused.value.param == param


def test_planned_queries_are_the_distinct_search_calls_cleaned_and_bounded():
    message = {
        "tool_calls": [
            call("file_search", orjson.dumps({"query": "lighthouse\x00 of\u202e Pharos"}).decode()),
            call("file_search", '{"query": "lighthouse of Pharos"}'),
            call("other", '{"query": "not a search"}'),
            call("file_search", "{not json"),
            call("file_search", '{"query": 7}'),
            *[call("file_search", orjson.dumps({"query": f"q{n}"}).decode()) for n in range(5)],
        ]
    }
    queries = planned_queries(message)
    assert queries[0] == "lighthouse of Pharos"
    assert len(queries) == MAX_QUERIES and queries[1:] == ["q0", "q1"]
    assert planned_queries({"content": "no calls"}) == []


def test_the_question_is_the_last_user_message_as_text():
    messages = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "image_url"}]},
    ]
    assert user_question(messages) == "second"
    assert user_question([{"role": "system", "content": "x"}]) == ""


def test_results_are_numbered_with_their_file_and_pages():
    text = format_results([result("a.pdf", 2, 2), result("b.md", 3, 5)], first_number=4)
    assert text == "[4] a.pdf (page 2)\ntext\n\n[5] b.md (pages 3-5)\ntext"
    assert format_results([], 1) == "No passage matched this search."


def test_only_markers_the_model_wrote_that_name_a_given_result_are_citations():
    sources = [result("a.pdf", 2, 2), result("b.md", 1, 1)]
    text = "Pharos [2] and Alexandria [1][2]. Not [0], [3], [١] or [ 1]."
    found = citations(text, sources)
    assert [(c["filename"], c["index"]) for c in found] == [
        ("b.md", text.index("[2]")),
        ("a.pdf", text.index("[1]")),
        ("b.md", text.index("[1][2]") + 3),
    ]
    assert found[1] == {
        "type": "file_citation",
        "file_id": "file-a.pdf",
        "filename": "a.pdf",
        "index": text.index("[1]"),
        "page_start": 2,
        "page_end": 2,
    }
    assert citations("No markers at all.", sources) == []
    assert citations("[1]", []) == []


def test_the_search_item_carries_results_only_when_included():
    sources = [result("a.pdf", 2, 2)]
    assert file_search_item("fs_1", ["q"], "completed", None)["results"] is None
    [included] = file_search_item("fs_1", ["q"], "completed", sources)["results"]
    assert included["file_id"] == "file-a.pdf" and included["page_start"] == 2


def test_the_stream_puts_the_search_first_and_annotates_the_finished_text():
    translator = ResponsesStreamTranslator(
        request={"model": "m", "input": "q"},
        model="m",
        annotate=lambda text: citations(text, [result("a.pdf", 2, 2)]),
    )
    head = translator.start()
    added, index = translator.open_item({"id": "fs_1", "type": "file_search_call"})
    progress = translator.item_event("response.file_search_call.searching", "fs_1", index)
    done = translator.close_item({"id": "fs_1", "type": "file_search_call"}, index)
    chunk = {"choices": [{"index": 0, "delta": {"content": "Pharos [1]."}}]}
    body = translator.feed(b"data: " + orjson.dumps(chunk) + b"\n\ndata: [DONE]\n\n")
    events = [
        orjson.loads(line[6:])
        for block in (head, added, progress, done, body)
        for line in block.split(b"\n")
        if line.startswith(b"data: ")
    ]
    assert index == 0
    kinds = [e["type"] for e in events]
    assert kinds[:5] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.file_search_call.searching",
        "response.output_item.done",
    ]
    assert kinds.index("response.output_text.annotation.added") < kinds.index(
        "response.output_text.done"
    )
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    final = events[-1]["response"]
    assert [item["type"] for item in final["output"]] == ["file_search_call", "message"]
    [annotation] = final["output"][1]["content"][0]["annotations"]
    assert annotation["index"] == len("Pharos ")
