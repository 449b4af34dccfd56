# ruff: noqa: F811 - the fixtures are imported to be used here
"""``file_search`` with dense retrieval on: each search's query is embedded through the
gateway, and that embedding is billed under the same request id as the search and the
model's tokens (``<id>_fs<n>_embed``)."""

from __future__ import annotations

from http import HTTPStatus

import openai
import pytest

from billing.models import Wallet
from tests.gateway.conftest import (  # noqa: F401 - fixtures
    add_model,
    catalog,
    fake,
    funded,
    make_key,
    upstream,
)
from tests.retrieval.test_api import QUERY_PRICE, Api, priced  # noqa: F401 - fixtures
from tests.retrieval.test_dense_api import api, dense_process  # noqa: F401 - fixtures
from tests.retrieval.test_file_search import HARBOUR, QUESTION
from tests.support.processes import wait_for
from usage.drain import drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)


def test_each_search_and_its_embedding_are_billed_under_the_request_id(
    api: Api, dense_process, make_key, fake, funded
):
    cid = api.post(json={"name": "dense"}).json()["collection_id"]
    ingested = api.post(
        f"/{cid}/documents/ingest",
        json={"title": "harbour.md", "filename": "harbour.md", "pages": HARBOUR},
    )
    assert ingested.status_code == HTTPStatus.OK, ingested.text
    api.wait_ready(cid, ingested.json()["id"])
    sdk = openai.OpenAI(
        api_key=make_key(scopes=["chat", "alretrieval"]),
        base_url=dense_process.url + "/v1",
        max_retries=0,
    )
    drain_usage()  # the passages' embeddings are charged before the request
    before = Wallet.objects.get(organization__personal_for=funded).balance_usd
    raw = sdk.responses.with_raw_response.create(
        model="fake-llm",
        input=QUESTION,
        tools=[{"type": "file_search", "vector_store_ids": ["vs_" + cid]}],
        include=["file_search_call.results"],
    )
    request_id = raw.headers["x-request-id"]
    search = raw.parse().output[0]
    assert search.results[0].filename == "harbour.md"

    def recorded():
        drain_usage()
        found = {
            r.request_id: r for r in UsageRecord.objects.filter(request_id__startswith=request_id)
        }
        return found if len(found) == 4 else None

    records = wait_for(recorded, timeout=20, what="4 usage records")
    embed = records[f"{request_id}_fs1_embed"]
    assert (embed.model, embed.endpoint, embed.status) == ("fake-embed", "alretrieval.embed", "ok")
    assert embed.prompt_tokens > 0 and embed.cost_usd > 0
    assert records[f"{request_id}_fs1"].cost_usd == QUERY_PRICE
    queried = [r["body"]["input"] for r in fake.requests() if r["path"] == "/v1/embeddings"]
    assert queried[-1] == [QUESTION]
    wallet = Wallet.objects.get(organization__personal_for=funded)
    assert wallet.balance_usd == before - sum(r.cost_usd for r in records.values())
    assert wallet.held_usd == 0
