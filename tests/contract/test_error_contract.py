"""Every mistake in a body, a query option or a form field gets one status and one code,
in the API's error shape with ``param`` naming the field, after the key is checked (a
stranger gets 401, a caller the rate-limit headers) — hostile input included: NUL bytes,
lone surrogates, huge strings, wrong types, bools and floats for integers, Unicode
digits, nested garbage. Through httpx and the official ``openai`` SDK."""

from __future__ import annotations

import json
from http import HTTPStatus

import httpx
import openai
import pytest

pytestmark = pytest.mark.django_db(transaction=True)

INVALID = (HTTPStatus.BAD_REQUEST, "invalid_parameter")
MISSING = (HTTPStatus.UNPROCESSABLE_ENTITY, "missing_required_parameter")
NOT_JSON = (HTTPStatus.BAD_REQUEST, "invalid_json")


def error_of(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "code", "param"}, body
    assert body["error"]["type"] == "invalid_request_error", body
    assert "x-request-id" in response.headers
    assert "x-ratelimit-limit" in response.headers and "x-ratelimit-remaining" in response.headers
    return body["error"]


class Caller:
    def __init__(self, server, secret: str) -> None:
        self.url = server.url + "/v1"
        self.headers = {"Authorization": f"Bearer {secret}"}

    def post(self, path: str, *, headers: dict | None = None, **kwargs) -> httpx.Response:
        headers = {**self.headers, **(headers or {})}
        return httpx.post(self.url + path, headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **kwargs) -> httpx.Response:
        return httpx.get(self.url + path, headers=self.headers, timeout=30, **kwargs)


@pytest.fixture
def caller(server, make_key, priced) -> Caller:
    return Caller(server, make_key(scopes=["alretrieval", "ocr", "usage", "models"]))


@pytest.fixture
def collection(caller) -> str:
    created = caller.post("/alRetrieval/collections", json={"name": "Contract"})
    assert created.status_code == HTTPStatus.OK, created.text
    return created.json()["collection_id"]


QUERY_MISTAKES = [
    (b"{}", MISSING, "query"),
    (b'{"query": null}', MISSING, "query"),
    (b'{"query": "   "}', MISSING, "query"),
    (b'{"query": 5}', INVALID, "query"),
    (b'{"query": ["tea"]}', INVALID, "query"),
    (b'{"query": {"$gt": ""}}', INVALID, "query"),
    (json.dumps({"query": "x" * 4001}).encode(), INVALID, "query"),
    (b'{"query": "tea", "top_k": "8"}', INVALID, "top_k"),
    ('{"query": "tea", "top_k": "٣"}'.encode(), INVALID, "top_k"),
    (b'{"query": "tea", "top_k": true}', INVALID, "top_k"),
    (b'{"query": "tea", "top_k": 8.0}', INVALID, "top_k"),
    (b'{"query": "tea", "top_k": 1e309}', INVALID, "top_k"),
    (b'{"query": "tea", "top_k": 99999999999999999999999999}', INVALID, "top_k"),
    (b'{"query": "tea", "top_k": 0}', INVALID, "top_k"),
    (b'{"query": "tea", "top_k": 51}', INVALID, "top_k"),
    (b'{"query": "tea", "doc_ids": "abc"}', INVALID, "doc_ids"),
    (b'{"query": "tea", "doc_ids": [1]}', INVALID, "doc_ids[0]"),
    (b'{"query": "tea", "doc_ids": ["a", {"b": [[]]}]}', INVALID, "doc_ids[1]"),
    (b'{"query": "\\ud800"}', NOT_JSON, None),
    (b'{"query": "tea"', NOT_JSON, None),
    (b"[]", NOT_JSON, None),
    (b'"tea"', NOT_JSON, None),
    (b"", NOT_JSON, None),
    (b"[" * 100_000 + b"]" * 100_000, NOT_JSON, None),
]


@pytest.mark.parametrize(("body", "expected", "param"), QUERY_MISTAKES)
def test_a_query_mistake_gets_one_status_and_one_code(caller, collection, body, expected, param):
    response = caller.post(
        f"/alRetrieval/collections/{collection}/query",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == expected[0], response.text
    error = error_of(response)
    assert (error["code"], error["param"]) == (expected[1], param)


def test_a_nul_in_the_query_is_removed_and_the_query_served(caller, collection):
    response = caller.post(
        f"/alRetrieval/collections/{collection}/query", json={"query": "te\u0000a"}
    )
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.json()["context"] == []


def test_a_stranger_with_a_bad_body_is_told_about_the_key_first(server, caller, collection):
    response = httpx.post(
        server.url + f"/v1/alRetrieval/collections/{collection}/query", json={"top_k": "x"}
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    response = httpx.get(server.url + "/v1/usage", params={"limit": "x"})
    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize(
    ("body", "expected", "param"),
    [
        ({"name": 5}, INVALID, "name"),
        ({"name": "x" * 201}, INVALID, "name"),
        ({"name": ["a"]}, INVALID, "name"),
    ],
)
def test_a_collection_mistake_names_the_field(caller, body, expected, param):
    response = caller.post("/alRetrieval/collections", json=body)
    assert response.status_code == expected[0], response.text
    assert (error_of(response)["code"], error_of(response)["param"]) == (expected[1], param)


@pytest.mark.parametrize(
    ("body", "expected", "param"),
    [
        ({"title": "t"}, MISSING, "pages"),
        ({"pages": "one page"}, INVALID, "pages"),
        ({"pages": ["one", 2]}, INVALID, "pages[1]"),
        ({"pages": ["one"], "title": {"nested": "garbage"}}, INVALID, "title"),
    ],
)
def test_a_json_ingest_mistake_names_the_field(caller, collection, body, expected, param):
    response = caller.post(f"/alRetrieval/collections/{collection}/documents/ingest", json=body)
    assert response.status_code == expected[0], response.text
    assert (error_of(response)["code"], error_of(response)["param"]) == (expected[1], param)


@pytest.mark.parametrize(
    ("path", "params", "param"),
    [
        ("/usage", {"limit": "٣"}, "limit"),
        ("/usage", {"limit": "²"}, "limit"),
        ("/usage", {"limit": "1_0"}, "limit"),
        ("/usage", {"limit": "3.0"}, "limit"),
        ("/usage", {"limit": "0"}, "limit"),
        ("/usage", {"limit": "101"}, "limit"),
        ("/usage", {"limit": "9" * 40}, "limit"),
        ("/usage", {"model": "m" * 201}, "model"),
        ("/models/catalog", {"search": "s" * 201}, "search"),
        ("/ocr/thumbnails/nosuchjob", {"limit": "51"}, "limit"),
        ("/ocr/images/nosuchjob", {"start": "-1"}, "start"),
        ("/ocr/images/nosuchjob", {"start": "١"}, "start"),
        ("/ocr/jobs/nosuchjob/1", {"detail": "everything"}, "detail"),
    ],
)
def test_a_query_option_mistake_names_the_option(caller, path, params, param):
    response = caller.get(path, params=params)
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.text
    assert (error_of(response)["code"], error_of(response)["param"]) == ("invalid_parameter", param)


@pytest.mark.parametrize("page_num", ["٣", "1_0", "x", "1.0"])
def test_a_page_number_that_is_not_ascii_digits_is_a_400(caller, page_num):
    # Path parameters are read by the router before the key is checked: the same
    # mapping, without rate-limit headers (the request reached no view).
    response = caller.get(f"/ocr/jobs/nosuchjob/{page_num}")
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_parameter", "page_num")


def test_an_upload_with_an_unknown_language_is_refused_before_it_is_read(caller):
    response = caller.post(
        "/ocr/upload",
        files={"file": ("a.pdf", b"%PDF-1.4 not read", "application/pdf")},
        data={"language": "klingon"},
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.text
    assert (error_of(response)["code"], error_of(response)["param"]) == (
        "invalid_parameter",
        "language",
    )


def test_the_sdk_raises_the_status_with_the_code_and_param(server, make_key, priced, client_for):
    client = client_for(make_key(scopes=["alretrieval", "usage"]))
    created = client.post("/alRetrieval/collections", body={}, cast_to=httpx.Response).json()
    path = f"/alRetrieval/collections/{created['collection_id']}/query"
    with pytest.raises(openai.UnprocessableEntityError) as missing:
        client.post(path, body={"top_k": 3}, cast_to=httpx.Response)
    assert (missing.value.code, missing.value.param) == ("missing_required_parameter", "query")
    with pytest.raises(openai.BadRequestError) as invalid:
        client.post(path, body={"query": "tea", "top_k": 500}, cast_to=httpx.Response)
    assert (invalid.value.code, invalid.value.param) == ("invalid_parameter", "top_k")
    assert invalid.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as usage:
        client.get("/usage", options={"params": {"limit": "٣"}}, cast_to=httpx.Response)
    assert (usage.value.code, usage.value.param) == ("invalid_parameter", "limit")
