# ruff: noqa: F811 - the fixtures are imported to be used here
"""The OpenAI Agents SDK's ``FileSearchTool`` against Portico, end to end: the fake
upstream speaking tool calls, and the built-in ``portico/test-chat`` (whose ``/`` the SDK's
default provider reads as a provider prefix: the docs' way round it is tested here)."""

from __future__ import annotations

import pytest
from agents import Agent, FileSearchTool, RunConfig, Runner, set_tracing_disabled
from agents.exceptions import UserError
from agents.items import MessageOutputItem, ToolCallItem
from agents.models.openai_provider import OpenAIProvider
from openai import AsyncOpenAI

from tests.gateway.conftest import (  # noqa: F401 - fixtures
    catalog,
    fake,
    funded,
    make_key,
    server,
    upstream,
)
from tests.retrieval.test_api import priced  # noqa: F401 - fixtures
from tests.retrieval.test_file_search import CITED, QUESTION, api, store  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_tracing():
    set_tracing_disabled(True)  # the SDK would export traces to OpenAI


@pytest.fixture
def portico(server, make_key) -> RunConfig:
    """How the docs run agents on Portico: an OpenAI provider with Portico's client, so
    every model id (``portico/test-chat`` too) is sent as it is."""
    client = AsyncOpenAI(
        base_url=server.url + "/v1",
        api_key=make_key(scopes=["chat", "alretrieval"]),
        max_retries=0,
    )
    return RunConfig(model_provider=OpenAIProvider(openai_client=client, use_responses=True))


def librarian(model: str, store: str) -> Agent:
    return Agent(
        name="Librarian",
        instructions="Answer from the user's documents.",
        model=model,
        tools=[FileSearchTool(vector_store_ids=[store], include_search_results=True)],
    )


def test_an_agent_searches_portico_and_answers_with_a_citation(portico, fake, store):
    fake.configure(completion_text=CITED)
    result = Runner.run_sync(librarian("fake-llm", store), QUESTION, run_config=portico)

    assert result.final_output == CITED
    [search] = [i for i in result.new_items if isinstance(i, ToolCallItem)]
    assert search.raw_item.type == "file_search_call"
    assert search.raw_item.queries == [QUESTION]
    assert search.raw_item.results[0].filename == "harbour.md"
    [message] = [i for i in result.new_items if isinstance(i, MessageOutputItem)]
    [citation] = message.raw_item.content[0].annotations
    assert citation.file_id == search.raw_item.results[0].file_id


def test_the_test_model_runs_with_portico_s_provider_and_not_with_the_default(portico, fake, store):
    agent = librarian("portico/test-chat", store)
    with pytest.raises(UserError, match="Unknown prefix"):
        Runner.run_sync(agent, QUESTION)

    result = Runner.run_sync(agent, QUESTION, run_config=portico)
    assert "Portico's built-in test model" in result.final_output
    [search] = [i for i in result.new_items if isinstance(i, ToolCallItem)]
    assert search.raw_item.results[0].filename == "harbour.md"
