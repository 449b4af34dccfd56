"""The Responses API's ``file_search`` tool, the wire-format side (no I/O, no Django).

:func:`split_file_search` takes the ``file_search`` tool out of a Responses request
(checked: ``vector_store_ids``, ``max_num_results``, ``filters``, ``ranking_options``)
so the rest goes through :func:`.responses_to_chat_request` as before. Portico runs the
search itself (``gateway.file_search``); this module shapes what goes to the model (the
search function it may call, the numbered results it is asked to cite as ``[n]``) and
what comes back: the ``file_search_call`` output item and the ``file_citation``
annotations of the ``[n]`` markers the model actually wrote (never others).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import orjson

from .errors import AdapterError

MAX_VECTOR_STORES = 10
MAX_ID_CHARS = 64
MAX_RESULTS = 50
DEFAULT_RESULTS = 10
MAX_QUERIES = 3  # searches one response may run
MAX_QUERY_CHARS = 4000
INCLUDE_RESULTS = "file_search_call.results"
SEARCH_FUNCTION_NAME = "file_search"
SEARCH_FUNCTION = {
    "type": "function",
    "function": {
        "name": SEARCH_FUNCTION_NAME,
        "description": (
            "Search the user's documents. Call it once per distinct question you need "
            "answered; each call returns numbered passages with their file and pages."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What to search for."},
            },
            "required": ["query"],
        },
    },
}
CITE_INSTRUCTIONS = (
    "Answer with the file search results when they are relevant. Each result has a "
    "number; cite a result by writing its number in square brackets, like [1], right "
    "after the statement it supports. Cite only results you used; never cite a number "
    "that is not listed."
)
_MARKER = re.compile(r"\[([0-9]{1,3})\]")


@dataclass(frozen=True)
class FileSearchSpec:
    """A checked ``file_search`` tool."""

    vector_store_ids: tuple[str, ...]
    max_num_results: int = DEFAULT_RESULTS
    filters: dict[str, Any] | None = None
    score_threshold: float | None = None
    include_results: bool = False
    tool: dict[str, Any] | None = None  # as sent, echoed in the response's ``tools``


@dataclass(frozen=True)
class FileSearchResult:
    """One passage a search found (what the gateway's server tool answers)."""

    vector_store_id: str
    file_id: str
    filename: str
    score: float
    text: str
    attributes: dict[str, Any]
    page_start: int
    page_end: int


# --------------------------------------------------------------------------- the request


def split_file_search(body: dict[str, Any]) -> tuple[FileSearchSpec | None, dict[str, Any]]:
    """The checked ``file_search`` tool of ``body`` (``None`` without one) and the body
    without it (the other tools, and a ``tool_choice`` naming file_search, removed)."""
    tools = body.get("tools")
    if not isinstance(tools, list):
        return None, body
    found = [
        i for i, t in enumerate(tools) if isinstance(t, dict) and t.get("type") == "file_search"
    ]
    if not found:
        return None, body
    if len(found) > 1:
        raise AdapterError("Only one file_search tool may be given.", f"tools[{found[1]}]")
    index = found[0]
    spec = _spec(tools[index], f"tools[{index}]", _includes_results(body.get("include")))
    rest = dict(body)
    rest["tools"] = [t for i, t in enumerate(tools) if i != index]
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "file_search":
        rest.pop("tool_choice")
    return spec, rest


def _includes_results(include: Any) -> bool:
    if include is None:
        return False
    if not isinstance(include, list) or not all(isinstance(i, str) for i in include):
        raise AdapterError("'include' must be an array of strings.", "include")
    return INCLUDE_RESULTS in include


def _spec(tool: dict[str, Any], where: str, include_results: bool) -> FileSearchSpec:
    ids = tool.get("vector_store_ids")
    if ids is None:
        raise AdapterError(
            "file_search needs 'vector_store_ids'.",
            f"{where}.vector_store_ids",
            "missing_required_parameter",
        )
    if not isinstance(ids, list) or not ids or len(ids) > MAX_VECTOR_STORES:
        raise AdapterError(
            f"'vector_store_ids' must be an array of 1 to {MAX_VECTOR_STORES} ids.",
            f"{where}.vector_store_ids",
        )
    for i, vs_id in enumerate(ids):
        if not isinstance(vs_id, str) or not _plain_id(vs_id):
            raise AdapterError(
                "Each vector store id must be a non-empty string of at most "
                f"{MAX_ID_CHARS} printable characters.",
                f"{where}.vector_store_ids[{i}]",
            )
    count = tool.get("max_num_results", DEFAULT_RESULTS)
    if count is None:
        count = DEFAULT_RESULTS
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_RESULTS:
        raise AdapterError(
            f"'max_num_results' must be an integer from 1 to {MAX_RESULTS}.",
            f"{where}.max_num_results",
        )
    filters = tool.get("filters")
    if filters is not None and not isinstance(filters, dict):
        raise AdapterError("'filters' must be an object.", f"{where}.filters")
    return FileSearchSpec(
        vector_store_ids=tuple(dict.fromkeys(ids)),
        max_num_results=count,
        filters=filters,
        score_threshold=_score_threshold(tool.get("ranking_options"), where),
        include_results=include_results,
        tool=tool,
    )


def _plain_id(value: str) -> bool:
    return (
        0 < len(value) <= MAX_ID_CHARS
        and value.isascii()
        and all(unicodedata.category(c)[0] != "C" for c in value)
    )


def _score_threshold(options: Any, where: str) -> float | None:
    if options is None:
        return None
    if not isinstance(options, dict):
        raise AdapterError("'ranking_options' must be an object.", f"{where}.ranking_options")
    ranker = options.get("ranker")
    if ranker is not None and (not isinstance(ranker, str) or len(ranker) > MAX_ID_CHARS):
        raise AdapterError("'ranker' must be a string.", f"{where}.ranking_options.ranker")
    threshold = options.get("score_threshold")
    if threshold is None:
        return None
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 <= threshold <= 1
    ):
        raise AdapterError(
            "'score_threshold' must be a number from 0 to 1.",
            f"{where}.ranking_options.score_threshold",
        )
    return float(threshold)


# --------------------------------------------------------------------------- the model


def planned_queries(message: dict[str, Any]) -> list[str]:
    """The queries of the model's ``file_search`` calls (``[]`` when it made none usable)."""
    queries: list[str] = []
    for call in message.get("tool_calls") or ():
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or fn.get("name") != SEARCH_FUNCTION_NAME:
            continue
        try:
            arguments = orjson.loads(fn.get("arguments") or "{}")
        except orjson.JSONDecodeError:
            continue
        query = arguments.get("query") if isinstance(arguments, dict) else None
        cleaned = clean_query(query) if isinstance(query, str) else ""
        if cleaned and cleaned not in queries:
            queries.append(cleaned)
    return queries[:MAX_QUERIES]


def clean_query(text: str) -> str:
    """A query as searched: control characters out, bounded."""
    kept = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in text)
    return " ".join(kept.split())[:MAX_QUERY_CHARS]


def user_question(messages: list[dict[str, Any]]) -> str:
    """The last user message's text: the query when the model does not plan its own."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return clean_query(content)
        parts = [p.get("text") or "" for p in content or () if isinstance(p, dict)]
        return clean_query(" ".join(parts))
    return ""


def format_results(results: list[FileSearchResult], first_number: int) -> str:
    """Numbered passages with their file and pages, for the model to read and cite."""
    if not results:
        return "No passage matched this search."
    blocks = []
    for number, result in enumerate(results, start=first_number):
        pages = (
            f"page {result.page_start}"
            if result.page_start == result.page_end
            else f"pages {result.page_start}-{result.page_end}"
        )
        blocks.append(f"[{number}] {result.filename} ({pages})\n{result.text}")
    return "\n\n".join(blocks)


# --------------------------------------------------------------------------- the answer


def file_search_item(
    item_id: str,
    queries: list[str],
    status: str,
    results: list[FileSearchResult] | None,
) -> dict[str, Any]:
    """The ``file_search_call`` output item; ``results`` only when the caller included them."""
    return {
        "id": item_id,
        "type": "file_search_call",
        "status": status,
        "queries": list(queries),
        "results": None
        if results is None
        else [
            {
                "file_id": r.file_id,
                "filename": r.filename,
                "score": r.score,
                "text": r.text,
                "attributes": r.attributes,
                # Portico's pages travel with each result (an extra the SDKs keep).
                "vector_store_id": r.vector_store_id,
                "page_start": r.page_start,
                "page_end": r.page_end,
            }
            for r in results
        ],
    }


def citations(text: str, sources: list[FileSearchResult]) -> list[dict[str, Any]]:
    """``file_citation`` annotations of the ``[n]`` markers in ``text`` that name a result
    given to the model; ``index`` is where the marker starts. A number not listed, or no
    marker at all, gives nothing: a citation is never invented."""
    annotations = []
    for match in _MARKER.finditer(text):
        number = int(match.group(1))
        if not 1 <= number <= len(sources):
            continue
        source = sources[number - 1]
        annotations.append(
            {
                "type": "file_citation",
                "file_id": source.file_id,
                "filename": source.filename,
                "index": match.start(),
                "page_start": source.page_start,
                "page_end": source.page_end,
            }
        )
    return annotations


def with_file_search(
    response: dict[str, Any], item: dict[str, Any], sources: list[FileSearchResult]
) -> dict[str, Any]:
    """A non-streamed ``response`` with the ``file_search_call`` item first and its
    ``output_text`` parts annotated."""
    for output in response["output"]:
        if output.get("type") != "message":
            continue
        for part in output.get("content") or ():
            if part.get("type") == "output_text":
                part["annotations"] = citations(part["text"], sources)
    response["output"].insert(0, item)
    return response
