"""Hostile and malformed input gets a clear 4xx in the API's format and stops nothing:
NUL bytes, Unicode digits, huge and chunked bodies, malformed tool calls, key floods."""

from __future__ import annotations

import json
import socket
from http import HTTPStatus

import httpx
import pytest

from billing.models import Wallet
from tests.gateway.conftest import drained_records
from tests.support.processes import PorticoServer, child_env

pytestmark = pytest.mark.django_db(transaction=True)
HELLO = [{"role": "user", "content": "Say hello"}]
MB = 1024 * 1024


def auth(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def error_of(response: httpx.Response) -> dict:
    return response.json()["error"]


def test_a_nul_in_a_model_name_is_refused_and_billing_goes_on(server, make_key):
    secret = make_key()
    for _ in range(3):
        poisoned = httpx.post(
            server.url + "/v1/chat/completions",
            json={"model": "p\u0000", "messages": HELLO},
            headers=auth(secret),
        )
        assert poisoned.status_code == HTTPStatus.NOT_FOUND
    served = httpx.post(
        server.url + "/v1/chat/completions",
        json={"model": "fake-llm", "messages": HELLO},
        headers=auth(secret),
    )
    assert served.status_code == HTTPStatus.OK

    records = drained_records()

    assert len(records) == 4, "every request, refused or served, is recorded"
    assert {r.model for r in records} == {"p", "fake-llm"}
    charged = next(r for r in records if r.model == "fake-llm")
    assert charged.cost_usd > 0
    assert (
        Wallet.objects.get(organization__personal_for__email="alice@example.com").balance_usd
        == 10 - charged.cost_usd
    )


@pytest.mark.parametrize(
    "path",
    [
        "/v1/usage?model=%00",
        "/v1/ocr/jobs/a%00b",
        "/usage/x%00y/",
        "/usage/?model=%00",
        "/v1/usage?after=%00",
    ],
)
def test_a_nul_in_the_url_is_a_400(server, make_key, path):
    response = httpx.get(server.url + path, headers=auth(make_key(scopes=["usage", "ocr"])))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    if path.startswith("/v1/"):
        assert error_of(response)["code"] == "invalid_url"


@pytest.mark.parametrize("value", ["²", "٣", "1e3", "-1", "0x10"])
def test_unicode_digits_in_a_cursor_are_a_400_not_a_500(server, make_key, value):
    response = httpx.get(
        server.url + "/v1/usage", params={"after": value}, headers=auth(make_key(scopes=["usage"]))
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert error_of(response)["param"] == "after"


def test_a_body_over_the_limit_is_refused_before_it_is_read(server):
    # No key at all, and only the headers sent: the declared size alone decides.
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (200 * MB)
        )
        chunks = []
        while chunk := sock.recv(65536):  # the server closes the connection after a 413
            chunks.append(chunk)
        answer = b"".join(chunks).decode()
    status_line, _, rest = answer.partition("\r\n")
    assert status_line.split()[1] == "413"
    body = json.loads(rest.split("\r\n\r\n", 1)[1])
    assert body["error"]["type"] == "request_too_large"


def test_a_chunked_body_over_the_limit_is_cut_off_with_a_413(server):
    def chunks():
        for _ in range(25):
            yield b"x" * MB

    response = httpx.post(server.url + "/v1/embeddings", content=chunks(), timeout=30)
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE


def test_a_large_prompt_within_the_limit_is_served(server, make_key):
    secret = make_key(name="big")
    big = "word " * (3 * MB // 5)  # 3 MB of prompt: over Django's old 2.5 MB cap
    response = httpx.post(
        server.url + "/v1/chat/completions",
        json={"model": "free-llm", "messages": [{"role": "user", "content": big}]},
        headers=auth(secret),
        timeout=60,
    )
    assert response.status_code == HTTPStatus.OK, response.text


@pytest.mark.parametrize(
    ("tool_calls", "param"),
    [
        ([{"function": "abc"}], "messages[1].tool_calls[0].function"),
        ("abc", "messages[1].tool_calls"),
        ([{"function": {"name": 3}}], "messages[1].tool_calls[0].function.name"),
        (
            [{"function": {"name": "f", "arguments": {"a": 1}}}],
            "messages[1].tool_calls[0].function.arguments",
        ),
    ],
)
def test_malformed_tool_calls_are_a_400_with_the_param(server, make_key, tool_calls, param):
    messages = [*HELLO, {"role": "assistant", "content": None, "tool_calls": tool_calls}]
    response = httpx.post(
        server.url + "/v1/chat/completions",
        json={"model": "fake-llm", "messages": messages},
        headers=auth(make_key()),
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert error_of(response)["param"] == param


def test_malformed_tools_are_a_400(server, make_key):
    response = httpx.post(
        server.url + "/v1/chat/completions",
        json={"model": "fake-llm", "messages": HELLO, "tools": ["nope"]},
        headers=auth(make_key()),
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert error_of(response)["param"] == "tools[0]"


@pytest.fixture
def strict_server(django_db_setup, django_db_blocker, make_key, catalog):
    """A server that allows 3 failed authentications a minute per address."""
    server = PorticoServer(child_env(AUTH_FAILURES_PER_MINUTE="3", CELERY_TASK_ALWAYS_EAGER="1"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_an_address_sending_unknown_keys_is_slowed_down(strict_server, make_key):
    valid = make_key(name="known", scopes=["models"])
    url = strict_server.url + "/v1/models"
    assert httpx.get(url, headers=auth(valid)).status_code == HTTPStatus.OK
    codes = [httpx.get(url, headers=auth(f"sk-{n:043d}")).status_code for n in range(5)]
    assert codes[:3] == [HTTPStatus.UNAUTHORIZED] * 3
    refused = httpx.get(url, headers=auth("sk-" + "z" * 43))
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert int(refused.headers["retry-after"]) >= 1
    assert error_of(refused)["code"] == "too_many_failed_authentications"
    # The key this address used a moment ago keeps working.
    assert httpx.get(url, headers=auth(valid)).status_code == HTTPStatus.OK
