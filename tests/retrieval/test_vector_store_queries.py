# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""``vector_stores.search`` with a list of queries and ``rewrite_query``, through the real
server with the official ``openai`` SDK: each query is searched and charged as one
retrieval query, the hits merged (a passage once, with its best score); a rewritten
query drops its question and stop words and ``search_query`` shows it."""

from __future__ import annotations

from decimal import Decimal

import openai
import pytest

from tests.gateway.conftest import catalog, client_for, fake, funded, make_key, server, upstream  # noqa: F401 - fixtures
from tests.retrieval.test_api import EN, QUERY_PRICE, priced  # noqa: F401 - fixture
from tests.support.processes import wait_for
from usage.drain import drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
LIGHTHOUSE = "lighthouse Alexandria harbour"
VENICE = "Venice merchant fleets"


@pytest.fixture
def sdk(client_for, server, make_key, priced) -> openai.OpenAI:
    return client_for(make_key(scopes=["alretrieval"])).with_options(timeout=60)


@pytest.fixture
def store(sdk) -> str:
    store = sdk.vector_stores.create(name="Two files")
    for name, text in [
        ("guide.md", f"# Harbour\n\n{EN}"),
        ("fleet.txt", "Merchant fleets of Venice sailed to the harbour of Alexandria."),
    ]:
        attached = sdk.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=(name, text.encode(), "text/plain")
        )
        assert attached.status == "completed", attached.last_error
    return store.id


def search_record(request_id: str) -> UsageRecord:
    def recorded():
        drain_usage()
        return UsageRecord.objects.filter(request_id=request_id).first()

    return wait_for(recorded, timeout=20, what=f"the usage record of {request_id}")


def scores(page) -> dict[tuple[str, str], float]:
    return {(hit.file_id, hit.content[0].text): hit.score for hit in page.data}


def test_each_query_of_a_list_is_searched_and_charged_and_the_hits_merged(sdk, store):
    alone = [sdk.vector_stores.search(store, query=q) for q in (LIGHTHOUSE, VENICE)]
    raw = sdk.vector_stores.with_raw_response.search(store, query=[LIGHTHOUSE, VENICE])
    page = raw.parse()
    assert page.search_query == [LIGHTHOUSE, VENICE]
    merged = scores(page)
    assert len(merged) == len(page.data)  # each passage once
    # Every passage either query found, with the best score either query gave it.
    best: dict[tuple[str, str], float] = {}
    for found in alone:
        for key, score in scores(found).items():
            best[key] = max(best.get(key, 0.0), score)
    assert merged == best
    assert [hit.score for hit in page.data] == sorted(merged.values(), reverse=True)
    assert {hit.filename for hit in page.data} == {"guide.md", "fleet.txt"}
    record = search_record(raw.headers["x-request-id"])
    assert (record.units, record.cost_usd) == (2, 2 * QUERY_PRICE)


def test_a_query_of_a_list_that_finds_nothing_is_free(sdk, store):
    raw = sdk.vector_stores.with_raw_response.search(
        store, query=[VENICE, "zzyzx-nowhere-qqq", VENICE]
    )
    page = raw.parse()
    assert page.search_query == [VENICE, "zzyzx-nowhere-qqq"]  # the same words once
    assert page.data and all(hit.score > 0 for hit in page.data)
    record = search_record(raw.headers["x-request-id"])
    assert (record.units, record.cost_usd) == (2, QUERY_PRICE)
    nothing = sdk.vector_stores.with_raw_response.search(store, query=["zzyzx-nowhere-qqq"])
    assert nothing.parse().data == []
    assert search_record(nothing.headers["x-request-id"]).cost_usd == Decimal(0)


def test_rewrite_query_searches_without_question_and_stop_words(sdk, store):
    asked = "What is the lighthouse of Alexandria?"
    kept = sdk.vector_stores.search(store, query=asked)
    assert kept.search_query == [asked]
    rewritten = sdk.vector_stores.search(store, query=asked, rewrite_query=True)
    assert rewritten.search_query == ["lighthouse Alexandria"]
    assert rewritten.data[0].filename == "guide.md"
    arabic = sdk.vector_stores.search(
        store, query=["ماهي مكتبة الإسكندرية؟", "Who were they?"], rewrite_query=True
    )
    assert arabic.search_query == ["مكتبة الإسكندرية", "Who were they?"]
    explicit = sdk.vector_stores.search(store, query=asked, rewrite_query=False)
    assert explicit.search_query == [asked]


def test_a_bad_query_list_is_a_400_in_openais_shape(sdk, store):
    for query, param in [
        ([], "query"),
        (["ok"] * 11, "query"),
        (["ok", 5], "query[1]"),
        (["ok", "bad\x00"], "query[1]"),
        (["ok", "   "], "query[1]"),
        ([["nested"]], "query[0]"),
    ]:
        with pytest.raises(openai.APIStatusError) as refused:
            sdk.vector_stores.search(store, query=query)
        assert refused.value.status_code in (400, 422), query
        assert refused.value.body["param"] == param, (query, refused.value.body)
