# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""The Responses API's ``file_search`` tool through the real server and the official
``openai`` SDK: the fake upstream speaking tool calls (planned queries, cited pages), the
built-in test model (no tool calls: the user's input is searched), streams, billing on
one request id, and every refusal before anything runs.

Vector stores are made through ``/v1/alRetrieval`` (``"vs_" + collection_id``); file ids
are read from the search results, never built here."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import httpx
import openai
import pytest

from billing.models import Wallet
from tests.gateway.conftest import (  # noqa: F401 - fixtures
    add_model,
    catalog,
    client_for,
    fake,
    funded,
    make_key,
    server,
    upstream,
)
from tests.gateway.test_contract_openai_schema import assert_valid
from tests.retrieval.test_api import QUERY_PRICE, Api, priced  # noqa: F401 - fixtures
from tests.support.processes import wait_for
from usage.drain import drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
HARBOUR = [
    "Ships once crowded the old port of the city.",
    "The lighthouse of Pharos guided the ships into the harbour for centuries.",
]
QUESTION = "Which lighthouse guided the ships?"
CITED = "The lighthouse of Pharos guided them [1]. Nothing says more [9]."


@pytest.fixture
def api(server, make_key, priced) -> Api:
    return Api(server, make_key(scopes=["alretrieval"]))


@pytest.fixture
def store(api: Api) -> str:
    """A vector store of alice's with a two-page document (the lighthouse on page 2)
    and an unrelated one."""
    cid = api.post(json={"name": "Harbours"}).json()["collection_id"]
    for title, pages in (("harbour.md", HARBOUR), ("budget.txt", ["The budget of 1999."])):
        answer = api.post(
            f"/{cid}/documents/ingest", json={"title": title, "filename": title, "pages": pages}
        )
        assert answer.status_code == HTTPStatus.OK, answer.text
        api.wait_ready(cid, answer.json()["id"])
    return "vs_" + cid


@pytest.fixture
def sdk(client_for, make_key) -> openai.OpenAI:
    return client_for(make_key(scopes=["chat", "alretrieval"]))


def tool(store: str, **options) -> dict:
    return {"type": "file_search", "vector_store_ids": [store], **options}


def chat_requests(fake) -> list[dict]:
    return [r["body"] for r in fake.requests() if r["path"] == "/v1/chat/completions"]


def test_the_model_plans_the_search_and_its_citations_point_to_the_page(sdk, fake, store):
    fake.configure(completion_text=CITED)
    response = sdk.responses.create(
        model="fake-llm",
        input=QUESTION,
        tools=[tool(store, max_num_results=3)],
        include=["file_search_call.results"],
    )

    search, message = response.output
    assert search.type == "file_search_call" and search.status == "completed"
    assert search.queries == [QUESTION]  # what the fake's forced call asked
    top = search.results[0]
    assert top.filename == "harbour.md" and top.file_id.startswith("file-")
    assert (top.model_extra["page_start"], top.model_extra["page_end"]) == (2, 2)
    assert "Pharos" in top.text and len(search.results) <= 3
    assert response.output_text == CITED
    # [1] is the first result; [9] names no result given to the model: not annotated.
    [citation] = message.content[0].annotations
    assert citation.type == "file_citation"
    assert (citation.file_id, citation.filename) == (top.file_id, "harbour.md")
    assert citation.index == CITED.index("[1]")
    assert response.tools[0].type == "file_search"
    assert_valid(response.to_dict(), "response.json")  # OpenAI's published schema

    planning, answering = chat_requests(fake)
    assert planning["tool_choice"] == {"type": "function", "function": {"name": "file_search"}}
    assert [t["function"]["name"] for t in planning["tools"]] == ["file_search"]
    # Offered the search again (the fake answers instead), nothing forced.
    assert [t["function"]["name"] for t in answering["tools"]] == ["file_search"]
    assert "tool_choice" not in answering
    call, result = answering["messages"][-2:]
    assert call["tool_calls"][0]["function"]["name"] == "file_search"
    assert result["role"] == "tool" and result["tool_call_id"] == call["tool_calls"][0]["id"]
    assert result["content"].startswith("[1] harbour.md (page 2)\n")
    assert "[1]" in answering["messages"][0]["content"]  # asked to cite as [n]


def test_results_are_left_out_unless_included(sdk, fake, store):
    response = sdk.responses.create(model="fake-llm", input=QUESTION, tools=[tool(store)])
    search, message = response.output
    assert search.results is None and search.queries == [QUESTION]
    assert message.content[0].annotations == []  # lorem ipsum cites nothing


def test_a_model_without_tool_calls_answers_from_a_search_of_the_input(sdk, fake, store):
    response = sdk.responses.create(
        model="portico/test-chat",
        input=QUESTION,
        tools=[tool(store)],
        include=["file_search_call.results"],
    )
    search, message = response.output
    assert search.queries == [QUESTION]
    assert search.results[0].filename == "harbour.md"
    assert "Portico's built-in test model" in response.output_text
    assert message.content[0].annotations == []  # it wrote no [n]: nothing invented
    assert chat_requests(fake) == []


def test_the_stream_reports_the_search_then_the_cited_answer(sdk, fake, store):
    fake.configure(completion_text=CITED)
    events = list(
        sdk.responses.create(
            model="fake-llm",
            input=QUESTION,
            tools=[tool(store)],
            include=["file_search_call.results"],
            stream=True,
        )
    )
    kinds = [e.type for e in events]
    assert kinds[:7] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_item.done",
    ]
    assert kinds[7] == "response.output_item.added" and events[7].item.type == "message"
    assert kinds.index("response.output_text.annotation.added") < kinds.index(
        "response.output_text.done"
    )
    assert kinds[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    search_id = events[2].item.id
    for event in events[3:6]:
        assert_valid(event.to_dict(), "response.json#/$defs/file_search_event")
    added = next(e for e in events if e.type == "response.output_text.annotation.added")
    assert_valid(added.to_dict(), "response.json#/$defs/annotation_added_event")
    assert_valid(events[-1].to_dict(), "response.json#/$defs/completed_event")
    assert all(e.item_id == search_id for e in events[3:6])
    final = events[-1].response
    search, message = final.output
    assert search.type == "file_search_call" and search.results[0].filename == "harbour.md"
    assert final.output_text == CITED
    [citation] = message.content[0].annotations
    assert citation.file_id == search.results[0].file_id
    assert citation.index == CITED.index("[1]")


def test_the_search_and_the_tokens_are_billed_under_one_request_id(sdk, fake, store, funded):
    before = Wallet.objects.get(organization__personal_for=funded).balance_usd
    raw = sdk.responses.with_raw_response.create(
        model="fake-llm", input=QUESTION, tools=[tool(store)]
    )
    request_id = raw.headers["x-request-id"]
    raw.parse()

    def recorded():
        drain_usage()
        found = list(UsageRecord.objects.filter(request_id__startswith=request_id))
        return found if len(found) == 3 else None

    records = {r.request_id: r for r in wait_for(recorded, timeout=20, what="3 usage records")}
    plan, search, answer = (
        records[f"{request_id}_plan"],
        records[f"{request_id}_fs1"],
        records[request_id],
    )
    assert plan.model == answer.model == "fake-llm" and plan.completion_tokens > 0
    assert (search.model, search.units, search.cost_usd) == ("portico/alretrieval", 1, QUERY_PRICE)
    assert search.endpoint == "responses.file_search" and search.source == "alretrieval"
    assert answer.endpoint == "responses" and answer.prompt_tokens > plan.prompt_tokens
    spent = plan.cost_usd + search.cost_usd + answer.cost_usd
    wallet = Wallet.objects.get(organization__personal_for=funded)
    assert wallet.balance_usd == before - spent and wallet.held_usd == 0


def test_a_wallet_that_cannot_pay_the_search_gets_402_before_anything_runs(
    server, client_for, make_key, fake, priced, bob
):
    # A free model: the search's price is all the request can cost, and bob has nothing.
    secret = make_key(owner=bob, scopes=["chat", "alretrieval"])
    created = Api(server, secret).post(json={"name": "bob's"})
    assert created.status_code == HTTPStatus.OK, created.text
    store = "vs_" + created.json()["collection_id"]
    with pytest.raises(openai.APIStatusError) as refused:
        client_for(secret).responses.create(model="free-llm", input=QUESTION, tools=[tool(store)])
    assert refused.value.status_code == HTTPStatus.PAYMENT_REQUIRED
    assert chat_requests(fake) == []
    drain_usage()
    assert not UsageRecord.objects.filter(endpoint="responses.file_search").exists()


def test_another_users_vector_store_is_404_before_anything_runs(
    sdk, fake, store, client_for, make_key, bob
):
    bobs = client_for(make_key(owner=bob, scopes=["chat", "alretrieval"]))
    for sdk_of, stores in ((bobs, [store]), (sdk, [store, "vs_" + "0" * 32]), (sdk, ["nope"])):
        with pytest.raises(openai.NotFoundError) as refused:
            sdk_of.responses.create(
                model="fake-llm",
                input=QUESTION,
                tools=[{"type": "file_search", "vector_store_ids": stores}],
            )
        assert refused.value.body["param"].startswith("tools.vector_store_ids[")
    assert chat_requests(fake) == []


def test_a_key_without_the_retrieval_scope_may_not_search(client_for, make_key, fake, store):
    chat_only = client_for(make_key(scopes=["chat"]))
    with pytest.raises(openai.PermissionDeniedError) as refused:
        chat_only.responses.create(model="fake-llm", input=QUESTION, tools=[tool(store)])
    assert refused.value.code == "missing_scope"
    assert chat_requests(fake) == []


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"max_num_results": 0}, "tools[0].max_num_results"),
        ({"max_num_results": 51}, "tools[0].max_num_results"),
        ({"max_num_results": "5"}, "tools[0].max_num_results"),
        ({"max_num_results": True}, "tools[0].max_num_results"),
        ({"max_num_results": 5.0}, "tools[0].max_num_results"),
        ({"vector_store_ids": "vs_1"}, "tools[0].vector_store_ids"),
        ({"vector_store_ids": []}, "tools[0].vector_store_ids"),
        ({"vector_store_ids": ["vs_\x00"]}, "tools[0].vector_store_ids[0]"),
        ({"vector_store_ids": ["vs_\u202eevil"]}, "tools[0].vector_store_ids[0]"),
        ({"vector_store_ids": ["vs_" + "9" * 99]}, "tools[0].vector_store_ids[0]"),
        ({"vector_store_ids": [7]}, "tools[0].vector_store_ids[0]"),
        ({"filters": "type = pdf"}, "tools[0].filters"),
        ({"ranking_options": {"score_threshold": 2}}, "tools[0].ranking_options.score_threshold"),
        ({"ranking_options": []}, "tools[0].ranking_options"),
    ],
)
def test_bad_tool_parameters_are_400_in_openais_shape(server, make_key, fake, options, param):
    secret = make_key(scopes=["chat", "alretrieval"])
    body = {
        "model": "fake-llm",
        "input": QUESTION,
        "tools": [{"type": "file_search", "vector_store_ids": ["vs_x"], **options}],
    }
    answer = httpx.post(
        server.url + "/v1/responses", headers={"Authorization": f"Bearer {secret}"}, json=body
    )
    assert answer.status_code == HTTPStatus.BAD_REQUEST, answer.text
    error = answer.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert error["message"]
    assert chat_requests(fake) == []


def test_two_file_search_tools_and_a_missing_store_list_are_refused(server, make_key, fake):
    secret = make_key(scopes=["chat", "alretrieval"])
    twice = [tool("vs_a"), tool("vs_b")]
    for tools, status, param in (
        (twice, HTTPStatus.BAD_REQUEST, "tools[1]"),
        ([{"type": "file_search"}], HTTPStatus.BAD_REQUEST, "tools[0].vector_store_ids"),
    ):
        answer = httpx.post(
            server.url + "/v1/responses",
            headers={"Authorization": f"Bearer {secret}"},
            json={"model": "fake-llm", "input": QUESTION, "tools": tools},
        )
        assert answer.status_code == status, answer.text
        assert answer.json()["error"]["param"] == param


def test_tool_choice_none_answers_without_searching(sdk, fake, store):
    response = sdk.responses.create(
        model="fake-llm", input=QUESTION, tools=[tool(store)], tool_choice="none"
    )
    assert [item.type for item in response.output] == ["message"]
    assert len(chat_requests(fake)) == 1
    drain_usage()
    assert not UsageRecord.objects.filter(endpoint="responses.file_search").exists()


def test_a_tool_speaking_provider_whose_model_makes_no_call_searches_the_input(sdk, fake, store):
    # The fake's Anthropic route answers text even when a tool is forced.
    response = sdk.responses.create(
        model="fake-claude",
        input=QUESTION,
        tools=[tool(store)],
        include=["file_search_call.results"],
    )
    search, message = response.output
    assert search.queries == [QUESTION] and search.results[0].filename == "harbour.md"
    planning, answering = [r["body"] for r in fake.requests() if r["path"] == "/v1/messages"]
    assert planning["tool_choice"] == {"type": "tool", "name": "file_search"}
    assert "tools" not in answering and "[1] harbour.md (page 2)" in str(answering["system"])
    assert message.content[0].annotations == []


def test_a_key_that_may_not_use_the_retrieval_model_may_not_search(
    client_for, make_key, fake, store
):
    chat_models_only = client_for(make_key(scopes=["chat", "alretrieval"], models=["fake-llm"]))
    with pytest.raises(openai.PermissionDeniedError) as refused:
        chat_models_only.responses.create(model="fake-llm", input=QUESTION, tools=[tool(store)])
    assert refused.value.code == "model_not_allowed"
    assert refused.value.body["param"] == "tools"
    assert chat_requests(fake) == []


@pytest.mark.parametrize("stream", [False, True])
def test_a_model_that_keeps_searching_is_answered_in_at_most_three_rounds(sdk, fake, store, stream):
    fake.configure(tool_calls="always", completion_text=CITED)
    raw = sdk.responses.with_raw_response.create(
        model="fake-llm",
        input=QUESTION,
        tools=[tool(store)],
        include=["file_search_call.results"],
        stream=stream,
    )
    request_id = raw.headers["x-request-id"]
    parsed = raw.parse()
    response = list(parsed)[-1].response if stream else parsed

    planning, again, last = chat_requests(fake)
    assert "tools" in planning and "tools" in again and "tools" not in last
    # The second call asked the same query again: not searched twice.
    search, message = response.output
    assert search.queries == [QUESTION]
    assert response.output_text == CITED
    assert message.content[0].annotations[0].file_id == search.results[0].file_id
    assert last["messages"][-1]["role"] == "tool"

    def recorded():
        drain_usage()
        found = {
            r.request_id: r for r in UsageRecord.objects.filter(request_id__startswith=request_id)
        }
        return found if len(found) == 4 else None

    records = wait_for(recorded, timeout=20, what="4 usage records")
    assert set(records) == {
        request_id,
        f"{request_id}_plan",
        f"{request_id}_plan2",
        f"{request_id}_fs1",
    }
    assert records[f"{request_id}_plan2"].completion_tokens > 0
    # The response's usage counts every round, and the bill is exactly those tokens.
    rounds = [records[f"{request_id}_plan"], records[f"{request_id}_plan2"], records[request_id]]
    usage = response.usage
    assert usage.input_tokens == sum(r.prompt_tokens for r in rounds)
    assert usage.output_tokens == sum(r.completion_tokens for r in rounds)
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_tokens > records[request_id].prompt_tokens  # not the answer's alone
    per_million = Decimal(1_000_000)
    assert (
        sum(r.cost_usd for r in rounds)
        == (usage.input_tokens * Decimal("1") + usage.output_tokens * Decimal("2")) / per_million
    )  # fake-llm: $1 in, $2 out per million
