"""The OpenAPI document describes every ``/v1`` body Portico owns: each route's request
body (where it takes one) and its 200 answer are typed models with their fields, never an
``{"type": "object"}`` placeholder, so a reader of ``/v1/docs`` can call any route."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from django.test import Client

from ground import bodies

pytestmark = pytest.mark.django_db

# Routes that take no body (every other POST does).
NO_BODY = {
    ("POST", "/v1/organization/projects/{project_id}/archive"),
    ("POST", "/v1/ocr/jobs/{token}/retry"),
    ("POST", "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel"),
}
# Answers that are not JSON: their media type and schema say what they are.
NOT_JSON = {
    ("GET", "/v1/ocr/jobs/{token}/pdf"): "application/pdf",
    ("GET", "/v1/files/{file_id}/content"): "application/octet-stream",
}


@pytest.fixture(scope="module")
def document(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = Client().get("/v1/openapi.json")
    assert response.status_code == HTTPStatus.OK
    return response.json()


def resolve(schema: dict, document: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = document["components"]["schemas"][name]
    return schema


def operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def is_placeholder(schema: dict) -> bool:
    return schema.get("type") == "object" and not (
        schema.get("properties") or schema.get("additionalProperties") or schema.get("$ref")
    )


def walk(schema, document, seen=None):
    """Every schema reachable from ``schema`` (refs followed once)."""
    seen = set() if seen is None else seen
    if isinstance(schema, dict):
        if "$ref" in schema:
            if schema["$ref"] in seen:
                return
            seen.add(schema["$ref"])
            yield from walk(resolve(schema, document), document, seen)
            return
        yield schema
        for value in schema.values():
            yield from walk(value, document, seen)
    elif isinstance(schema, list):
        for item in schema:
            yield from walk(item, document, seen)


def test_the_document_lists_every_v1_route(document):
    routes = {(method, path) for method, path, _ in operations(document)}
    assert len(routes) == 45 + 38  # 38: the Admin API's (gateway.admin_api)
    assert ("POST", "/v1/alRetrieval/collections/{collection_id}/query") in routes


def test_every_route_that_takes_a_body_describes_its_fields(document):
    for method, path, operation in operations(document):
        if method != "POST" or (method, path) in NO_BODY:
            assert "requestBody" not in operation, (method, path)
            continue
        content = operation["requestBody"]["content"]
        assert content, (method, path)
        for media_type, body in content.items():
            schema = resolve(body["schema"], document)
            assert schema.get("properties"), (method, path, media_type)
            assert not is_placeholder(schema), (method, path, media_type)


def test_every_route_describes_its_200_answer(document):
    for method, path, operation in operations(document):
        answer = operation["responses"].get("200") or operation["responses"].get(200)
        assert answer and answer.get("content"), (method, path)
        media_type = NOT_JSON.get((method, path), "application/json")
        schema = resolve(answer["content"][media_type]["schema"], document)
        if media_type == "application/json":
            assert schema.get("properties"), (method, path)
        else:
            assert schema == {"type": "string", "format": "binary"}, (method, path)


def test_no_schema_in_the_document_is_a_placeholder(document):
    for method, path, operation in operations(document):
        for schema in walk(operation, document):
            assert not is_placeholder(schema), (method, path, schema)


def test_query_options_and_path_parameters_are_typed(document):
    for method, path, operation in operations(document):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            assert schema.get("type") or schema.get("anyOf") or schema.get("enum"), (
                method,
                path,
                parameter,
            )
    usage = next(op for m, p, op in operations(document) if p == "/v1/usage")
    limit = next(p for p in usage["parameters"] if p["name"] == "limit")
    schema = limit["schema"]
    assert (schema["type"], schema["minimum"], schema["maximum"], schema["default"]) == (
        "integer",
        1,
        100,
        20,
    )


def test_the_hot_paths_bodies_are_described_field_by_field(document):
    def fields(path: str) -> set[str]:
        operation = document["paths"][path]["post"]
        schema = resolve(
            operation["requestBody"]["content"]["application/json"]["schema"], document
        )
        return set(schema["properties"])

    chat = fields("/v1/chat/completions")
    assert {"model", "messages", "stream", "stream_options", "max_tokens", "temperature"} <= chat
    assert {"top_p", "stop", "tools", "tool_choice", "response_format"} <= chat
    assert {"model", "input", "instructions", "stream", "max_output_tokens"} <= fields(
        "/v1/responses"
    )
    assert {"model", "input", "encoding_format", "dimensions"} <= fields("/v1/embeddings")
    streamed = document["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
    assert set(streamed) == {"application/json", "text/event-stream"}


def test_the_retrieval_query_is_documented_as_the_contract_has_it(document):
    schema = document["components"]["schemas"]["RetrievalQuery"]
    assert schema["required"] == ["query"]
    assert set(schema["properties"]) == {"query", "doc_ids", "top_k", "filters"}
    top_k = schema["properties"]["top_k"]
    assert (top_k["type"], top_k["minimum"], top_k["maximum"], top_k["default"]) == (
        "integer",
        1,
        50,
        8,
    )
    answer = document["components"]["schemas"]["Passage"]
    assert set(answer["required"]) == {
        "title",
        "page_start",
        "page_end",
        "score",
        "snippet",
        "is_direct_hit",
        "document_id",
    }


def test_two_schemas_of_one_name_are_refused():
    from pydantic import BaseModel

    class RetrievalQuery(BaseModel):  # not retrieval.schemas.RetrievalQuery
        query: str

    with pytest.raises(ValueError, match="Two schemas are named 'RetrievalQuery'"):
        bodies.json_body(RetrievalQuery)


def test_the_document_is_valid_openapi(document):
    # openapi-spec-validator comes with schemathesis (make fuzz).
    from openapi_spec_validator import validate

    validate(document)


def test_no_object_in_the_served_document_repeats_a_key(django_db_blocker):
    """Swagger UI parses the document as YAML, where a repeated key is an error that
    leaves /v1/docs blank: ``{200: …}`` from a response schema and ``{"200": …}`` from
    ``openapi_extra`` are two keys in Python and one repeated key in the JSON served."""
    with django_db_blocker.unblock():
        raw = Client().get("/v1/openapi.json").content
    repeated: list[str] = []

    def no_repeats(pairs: list[tuple[str, object]]) -> dict:
        keys = [key for key, _ in pairs]
        repeated.extend(key for key in set(keys) if keys.count(key) > 1)
        return dict(pairs)

    json.loads(raw, object_pairs_hook=no_repeats)
    assert not repeated, f"keys repeated in one object of the document: {repeated}"
