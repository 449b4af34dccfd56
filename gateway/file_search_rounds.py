"""The rounds of a ``file_search`` response (``gateway.file_search``): the searches run so
far and the conversation the model reads, the forced planning round, and reading a
later round's answer for more search calls (plain, or a stream peeked until it shows
text or tool calls)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import aiohttp
import orjson

from gateway import proxy
from gateway.adapters import SSEParser
from gateway.adapters.responses_file_search import (
    CITE_INSTRUCTIONS,
    MAX_QUERIES,
    SEARCH_FUNCTION,
    SEARCH_FUNCTION_NAME,
    FileSearchResult,
    FileSearchSpec,
    format_results,
    planned_queries,
)
from gateway.call import Call
from gateway.metering import record_part, usage_event
from gateway.server_tools import FileSearchBackend
from gateway.upstream import UpstreamReply, open_chat
from ground.errors import ApiError

PLAN_MAX_TOKENS = 256
MAX_RESULT_CHARS = 1500  # of one passage, as the model reads it


@dataclass
class Searches:
    """The searches of one response and the conversation around them."""

    call: Call
    backend: FileSearchBackend
    spec: FileSearchSpec
    messages: list[dict]
    queries: list[str] = field(default_factory=list)
    sources: list[FileSearchResult] = field(default_factory=list)  # numbered [1], [2], …
    turns: list[dict] = field(default_factory=list)  # the calls and their results
    rounds: int = 0  # model rounds that asked for searches
    used: tuple[int, int, int] = (0, 0, 0)  # their (prompt, completion, cached) tokens

    def conversation(self) -> list[dict]:
        return [{"role": "system", "content": CITE_INSTRUCTIONS}, *self.messages, *self.turns]

    def fresh(self, queries: list[str]) -> list[str]:
        """The queries not searched yet, within the response's ``MAX_QUERIES``."""
        new = [q for q in queries if q not in self.queries]
        return new[: MAX_QUERIES - len(self.queries)]

    async def search(self, query: str) -> str:
        """One search, metered as ``<id>_fs<n>``; its numbered results as the model reads them."""
        self.queries.append(query)
        number = len(self.queries)
        hits = await self.backend.search(
            self.call, self.spec, query, f"{self.call.request_id}_fs{number}"
        )
        results = [trimmed(hit) for hit in hits]
        text = format_results(results, len(self.sources) + 1)
        self.sources.extend(results)
        return text

    async def answer_calls(self, queries: list[str]) -> None:
        """The model's search calls (one per fresh query), each answered by its results."""
        calls, answers = [], []
        for query in self.fresh(queries):
            call_id = f"call_{self.call.request_id[-12:]}_{len(self.queries) + 1}"
            arguments = orjson.dumps({"query": query}).decode()
            calls.append(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": SEARCH_FUNCTION_NAME, "arguments": arguments},
                }
            )
            answers.append({"role": "tool", "tool_call_id": call_id, "content": ""})
            answers[-1]["content"] = await self.search(query)
        if calls:
            self.turns += [{"role": "assistant", "content": None, "tool_calls": calls}, *answers]

    async def search_input(self, question: str) -> None:
        """No planned calls: the user's question searched once, its results in the
        instructions."""
        text = await self.search(question)
        self.messages = [
            {
                "role": "system",
                "content": f"File search results for {question!r}:\n\n{text}",
            },
            *self.messages,
        ]

    async def record_round(self, usage: tuple[int, int, int] | None) -> None:
        """A round that asked for searches: its tokens are a usage record of their own
        (``<id>_plan``, ``<id>_plan2``), durable at once and charged from the request's
        reservation (``record_part``); the answer's record settles the reservation. The
        response's ``usage`` adds them to the answer's (``used``)."""
        self.rounds += 1
        counts = usage or (self.call.est_prompt, PLAN_MAX_TOKENS, 0)
        self.used = tuple(a + b for a, b in zip(self.used, counts, strict=True))
        event = usage_event(
            self.call,
            status="ok",
            http_status=200,
            prompt=counts[0],
            completion=counts[1],
            cached=counts[2],
            reported=usage is not None,
        )
        suffix = "_plan" if self.rounds == 1 else f"_plan{self.rounds}"
        event.request_id = self.call.request_id + suffix
        await record_part(self.call, event)


def trimmed(hit: FileSearchResult) -> FileSearchResult:
    if len(hit.text) <= MAX_RESULT_CHARS:
        return hit
    return dataclasses.replace(hit, text=hit.text[:MAX_RESULT_CHARS] + "…")


async def forced_plan(searches: Searches, model, deployments, chat_body: dict) -> bool:
    """The first round: the model must call the search function; its distinct queries are
    searched. False when it planned nothing usable (a provider that refuses tools: 400)."""
    plan_body = {
        "model": chat_body["model"],
        "messages": searches.messages,
        "tools": [SEARCH_FUNCTION],
        "tool_choice": {"type": "function", "function": {"name": SEARCH_FUNCTION_NAME}},
        "max_tokens": PLAN_MAX_TOKENS,
    }
    try:
        reply = await proxy.route(
            searches.call,
            deployments,
            lambda d: open_chat(d, plan_body, stream=False, public_model=model.public_id),
        )
    except ApiError as error:
        if error.status != 400:
            raise
        return False
    payload = json_payload(searches.call, reply)
    await searches.record_round(proxy.usage_from(payload))
    queries = planned_queries(first_message(payload))
    await searches.answer_calls(queries)
    return bool(queries)


def json_payload(call: Call, reply: UpstreamReply) -> dict:
    try:
        return orjson.loads(reply.body)
    except orjson.JSONDecodeError:
        raise ApiError(
            502, f"{call.deployment.provider.name} sent a response that is not JSON."
        ) from None


def first_message(payload: dict) -> dict:
    return ((payload.get("choices") or [{}])[0] or {}).get("message") or {}


def only_searches(tool_calls: list[dict] | None) -> bool:
    names = [(c.get("function") or {}).get("name") for c in tool_calls or ()]
    return bool(names) and all(name == SEARCH_FUNCTION_NAME for name in names)


async def more_searches(
    searches: Searches, reply: UpstreamReply, stream: bool
) -> tuple[list[str] | None, UpstreamReply]:
    """A later round's answer: the queries when it only asked for searches (read to its
    end and metered), else ``None`` and the reply to answer with (a peeked stream
    still relays every byte it had)."""
    if not stream:
        payload = json_payload(searches.call, reply)
        message = first_message(payload)
        if not only_searches(message.get("tool_calls")):
            return None, reply
        await searches.record_round(proxy.usage_from(payload))
        return planned_queries(message), reply
    try:
        peeked, calls, usage = await peek(reply)
    except (aiohttp.ClientError, TimeoutError) as exc:
        reply.close()  # nothing was sent yet: a plain 502, and the refusal settles the hold
        raise ApiError(
            502, f"The upstream stream broke: {type(exc).__name__}.", code="upstream_failed"
        ) from None
    if calls is None or not only_searches(calls):
        return None, peeked
    reply.close()
    await searches.record_round(usage)
    return planned_queries({"tool_calls": calls}), peeked


async def peek(reply: UpstreamReply) -> tuple[UpstreamReply, list[dict] | None, tuple | None]:
    """Read a chat stream until it shows text (``None``: the reply, unconsumed as far as
    the relay can tell) or ends as tool calls (assembled, with the stream's usage)."""
    parser, seen, data = SSEParser(), [], reply.first
    calls: dict[int, dict] = {}
    usage = None
    while True:
        seen.append(data)
        for _event, payload in parser.feed(data):
            try:
                chunk = orjson.loads(payload) if payload.startswith(b"{") else {}
            except orjson.JSONDecodeError:
                chunk = {}
            usage = proxy.usage_from(chunk) or usage
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    return dataclasses.replace(reply, first=b"".join(seen)), None, None
                for part in delta.get("tool_calls") or ():
                    fn = part.get("function") or {}
                    slot = calls.setdefault(
                        part.get("index", 0), {"type": "function", "function": {"name": ""}}
                    )
                    slot["id"] = part.get("id") or slot.get("id", "")
                    slot["function"]["name"] += fn.get("name") or ""
                    arguments = slot["function"].get("arguments", "")
                    slot["function"]["arguments"] = arguments + (fn.get("arguments") or "")
        try:
            data = await reply.stream.__anext__()
        except StopAsyncIteration:
            break
    replayed = dataclasses.replace(reply, first=b"".join(seen))
    return replayed, [calls[i] for i in sorted(calls)] if calls else None, usage
