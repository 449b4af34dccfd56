"""Every /v1 endpoint of every app is admitted the same way: same headers on every answer,
refusals included (``gateway.admission``)."""

from __future__ import annotations

from http import HTTPStatus

import httpx
import pytest

from accounts.models import ALL_SCOPES

pytestmark = pytest.mark.django_db(transaction=True)
HELLO = [{"role": "user", "content": "Say hello"}]
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")

ENDPOINTS = [
    ("GET", "/v1/models", None),
    ("GET", "/v1/models/catalog", None),
    ("GET", "/v1/usage", None),
    ("GET", "/v1/wallet", None),
    ("POST", "/v1/chat/completions", {"model": "fake-llm", "messages": HELLO}),
    ("POST", "/v1/responses", {"model": "fake-llm", "input": "Say hello"}),
    ("POST", "/v1/embeddings", {"model": "fake-embed", "input": "hello"}),
    ("GET", "/v1/ocr/jobs/nosuchjob", None),
    ("GET", "/v1/ocr/thumbnails/nosuchjob", None),
]


def call(server, secret: str | None, method: str, path: str, body) -> httpx.Response:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return httpx.request(method, server.url + path, json=body, headers=headers, timeout=20)


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
def test_a_429_carries_retry_after_and_the_rate_limit_headers(server, make_key, method, path, body):
    secret = make_key(name="one-a-minute", scopes=ALL_SCOPES, rpm=1)
    first = call(server, secret, method, path, body)
    assert first.status_code != HTTPStatus.TOO_MANY_REQUESTS

    second = call(server, secret, method, path, body)
    if second.status_code != HTTPStatus.TOO_MANY_REQUESTS:
        # The two fell on either side of a minute's boundary (the limiter counts per
        # window): the next one is the second of its window.
        first, second = second, call(server, secret, method, path, body)

    assert second.status_code == HTTPStatus.TOO_MANY_REQUESTS, second.text
    assert second.json()["error"]["type"] == "rate_limit_error"
    assert int(second.headers["retry-after"]) >= 1
    assert second.headers["x-ratelimit-remaining"] == "0"
    assert all(name in second.headers for name in RATE_HEADERS)
    assert second.headers["x-request-id"].startswith("req_")
    assert second.headers["x-request-id"] != first.headers["x-request-id"]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
def test_a_401_carries_a_request_id(server, method, path, body):
    for secret in (None, "sk-" + "x" * 43):
        response = call(server, secret, method, path, body)
        assert response.status_code == HTTPStatus.UNAUTHORIZED
        assert response.headers["x-request-id"].startswith("req_")
        assert response.headers["server-timing"].startswith("gateway;dur=")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
def test_a_403_for_a_missing_scope_carries_the_request_id_and_rate_limit_headers(
    server, make_key, method, path, body
):
    needed = {
        "/v1/models": "models",
        "/v1/models/catalog": "models",
        "/v1/usage": "usage",
        "/v1/wallet": "usage",
        "/v1/embeddings": "embeddings",
    }.get(path, "ocr" if "/ocr/" in path else "chat")
    secret = make_key(name="narrow", scopes=[s for s in ALL_SCOPES if s != needed])

    response = call(server, secret, method, path, body)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["error"]["code"] == "missing_scope"
    assert response.headers["x-request-id"].startswith("req_")
    assert all(name in response.headers for name in RATE_HEADERS)


def test_the_openapi_schema_declares_bearer_auth_and_the_error_format(server):
    schema = httpx.get(server.url + "/v1/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert schema["security"] == [{"bearerAuth": []}]
    error = schema["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["message", "type", "code", "param"]
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) >= 10
    for operation in operations:
        assert {"401", "429"} <= set(operation["responses"]), operation["operationId"]


def test_every_answer_carries_server_timing_and_overhead_is_measured(server, make_key):
    from catalog.models import LatencyRollup
    from tests.gateway.conftest import drained_records

    secret = make_key()
    for stream in (False, True):
        response = call(
            server,
            secret,
            "POST",
            "/v1/chat/completions",
            {"model": "fake-llm", "messages": HELLO, "stream": stream},
        )
        assert response.status_code == HTTPStatus.OK
        timing = dict(
            part.strip().split(";dur=") for part in response.headers["server-timing"].split(",")
        )
        assert set(timing) == {"gateway", "upstream"}
        assert float(timing["gateway"]) >= 0 and float(timing["upstream"]) > 0
    drained_records()
    rollup = LatencyRollup.objects.get(model="fake-llm")
    assert rollup.overhead_count == 2 and rollup.overhead_us_sum > 0
