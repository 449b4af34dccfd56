"""The playground's endpoints: the page, the session-authenticated chat (the gateway's own
pipeline) and the per-request usage the page shows under each reply."""

from __future__ import annotations

import json
from decimal import Decimal
from http import HTTPStatus

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from billing.credits import credit
from billing.wallets import wallet_summary
from catalog.models import Deployment, Model, Provider
from catalog.snapshots import bump_catalog_version
from gateway import ratelimit
from playground import views
from playground.chat import chat_body
from tests.support.orgs import org_id
from usage.drain import discard_pending_events, drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db
HELLO = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(autouse=True)
def _fresh_gateway_state(settings, monkeypatch):
    """A fast local model, no pending usage events, no rate-limit counters of other tests."""
    settings.LOCAL_MODEL_TOKENS_PER_SECOND = 100_000
    settings.LOCAL_MODEL_FIRST_TOKEN_MS = 0
    discard_pending_events()
    monkeypatch.setattr(ratelimit, "_limiter", None)
    monkeypatch.setattr(views, "USAGE_WAIT_SECONDS", 0)  # answer 404 at once
    bump_catalog_version()
    yield
    discard_pending_events()
    bump_catalog_version()


def add_model(public_id: str, provider: Provider | None, **fields) -> Model:
    fields.setdefault("input_price_per_1m", Decimal("0.5"))
    fields.setdefault("output_price_per_1m", Decimal("1.5"))
    model = Model.objects.create(public_id=public_id, **fields)
    if provider is not None:
        Deployment.objects.create(model=model, provider=provider, upstream_model="test-chat")
    return model


@pytest.fixture
def catalog(db):
    local = Provider.objects.create(name="local", kind="local")
    add_model("portico/test-chat", local, name="Test chat")
    add_model("other-chat", local)
    add_model("no-deployment", None)
    add_model("switched-off", local, enabled=False)
    Model.objects.create(public_id="some-embedding", type="embedding")
    return local


@pytest.fixture
def funded_alice(alice, catalog):
    credit(org_id(alice), Decimal("10"), kind="adjustment", idempotency_key=f"fund:{alice.pk}")
    return alice


def signed_in(user) -> AsyncClient:
    client = AsyncClient()
    client.force_login(user)
    return client


def post_chat(client: AsyncClient, body: dict) -> tuple[int, dict[str, str], bytes]:
    """POST /playground/chat and read the whole (possibly streamed) answer."""

    async def run():
        response = await client.post(
            "/playground/chat", data=json.dumps(body), content_type="application/json"
        )
        if response.streaming:
            content = b"".join([chunk async for chunk in response.streaming_content])
        else:
            content = response.content
        return response.status_code, dict(response.headers), content

    return async_to_sync(run)()


def sse_data(raw: bytes) -> list[dict]:
    events = raw.decode().split("\n\n")
    data = [e.removeprefix("data: ") for e in events if e.startswith("data: ")]
    return [json.loads(d) for d in data if d != "[DONE]"]


def streamed_text(raw: bytes) -> str:
    return "".join(
        choice["delta"].get("content") or ""
        for chunk in sse_data(raw)
        for choice in chunk.get("choices", [])
    )


def test_the_page_sends_a_visitor_to_sign_in(client):
    response = client.get("/playground/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/accounts/login/")


def test_the_chat_endpoint_answers_401_json_to_a_visitor(catalog):
    status, headers, content = post_chat(
        AsyncClient(), {"model": "portico/test-chat", "messages": HELLO}
    )
    assert status == HTTPStatus.UNAUTHORIZED
    assert headers["Content-Type"] == "application/json"
    assert json.loads(content)["error"]["code"] == "not_signed_in"


def test_the_chat_endpoint_requires_the_csrf_token(funded_alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(funded_alice)
    body = json.dumps({"model": "portico/test-chat", "messages": HELLO})
    refused = client.post("/playground/chat", data=body, content_type="application/json")
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert not UsageRecord.objects.exists() and drain_usage() == 0


def test_the_picker_offers_only_enabled_chat_models_the_user_may_use(alice, catalog):
    client = Client()
    client.force_login(alice)
    everything = client.get("/playground/").context["config"]["models"]
    assert [m["id"] for m in everything] == ["other-chat", "portico/test-chat"]
    assert everything[1] == {
        "id": "portico/test-chat",
        "name": "Test chat",
        "input_per_1m": "0.5",
        "output_per_1m": "1.5",
        "price_text": "$0.50 in · $1.50 out per 1M tokens",
        "context_window": None,
        "max_output_tokens": None,
    }

    alice.allowed_models = ["portico/test-chat", "some-embedding"]
    alice.save()
    page = client.get("/playground/")
    assert [m["id"] for m in page.context["config"]["models"]] == ["portico/test-chat"]
    assert b'<option value="other-chat">' not in page.content


def test_a_model_outside_the_allowlist_is_refused(funded_alice):
    funded_alice.allowed_models = ["portico/test-chat"]
    funded_alice.save()
    status, _, content = post_chat(
        signed_in(funded_alice), {"model": "other-chat", "messages": HELLO}
    )
    assert status == HTTPStatus.FORBIDDEN
    error = json.loads(content)["error"]
    assert error["code"] == "model_not_allowed"
    # No key is involved: the refusal names the account's allowlist.
    assert error["message"].startswith("Your account may not use the model 'other-chat'")


def test_an_empty_wallet_gets_402_and_no_upstream_call(bob, catalog):
    status, headers, content = post_chat(
        signed_in(bob), {"model": "portico/test-chat", "messages": HELLO}
    )
    assert status == HTTPStatus.PAYMENT_REQUIRED
    error = json.loads(content)["error"]
    assert (error["type"], error["code"]) == ("insufficient_quota", "insufficient_balance")
    assert "Top up your wallet" in error["message"]
    drain_usage()
    record = UsageRecord.objects.get(request_id=headers["x-request-id"])
    assert (record.status, record.http_status, record.source) == ("error", 402, "playground")
    assert record.cost_usd == 0 and record.provider == ""


def test_a_chat_streams_and_is_metered_as_playground_usage(funded_alice):
    before = Decimal(wallet_summary(org_id(funded_alice))["balance_usd"])
    status, headers, content = post_chat(
        signed_in(funded_alice), {"model": "portico/test-chat", "messages": HELLO}
    )
    assert status == HTTPStatus.OK
    assert headers["Content-Type"].startswith("text/event-stream")
    assert content.endswith(b"data: [DONE]\n\n")
    assert "Portico's built-in test model" in streamed_text(content)
    usage = sse_data(content)[-1]["usage"]  # the page asks for the usage chunk

    drain_usage()
    record = UsageRecord.objects.get(request_id=headers["x-request-id"])
    assert (record.source, record.api_key_id, record.user_id) == (
        "playground",
        None,
        funded_alice.pk,
    )
    assert (record.status, record.stream, record.endpoint) == ("ok", True, "chat.completions")
    assert (record.prompt_tokens, record.completion_tokens) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )
    assert record.cost_usd > 0
    after = Decimal(wallet_summary(org_id(funded_alice))["balance_usd"])
    assert before - after == record.cost_usd


def test_the_playground_obeys_the_users_rate_limit(funded_alice):
    funded_alice.rpm_limit = 1
    funded_alice.save()
    client = signed_in(funded_alice)
    body = {"model": "portico/test-chat", "messages": HELLO}
    assert post_chat(client, body)[0] == HTTPStatus.OK
    status, headers, content = post_chat(client, body)
    assert status == HTTPStatus.TOO_MANY_REQUESTS
    assert json.loads(content)["error"]["type"] == "rate_limit_error"
    assert headers["x-ratelimit-limit"] == "1"


def test_invalid_parameters_get_the_apis_400(funded_alice):
    status, _, content = post_chat(
        signed_in(funded_alice),
        {"model": "portico/test-chat", "messages": HELLO, "temperature": 7},
    )
    assert status == HTTPStatus.BAD_REQUEST
    assert json.loads(content)["error"]["param"] == "temperature"


def test_only_the_offered_parameters_reach_the_gateway():
    body = {"model": "m", "messages": HELLO, "top_p": 0.5, "n": 4, "tools": [], "stream": False}
    assert chat_body(body) == {
        "model": "m",
        "messages": HELLO,
        "top_p": 0.5,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_the_usage_endpoint_shows_a_users_own_request_and_wallet(funded_alice, bob):
    _, headers, _ = post_chat(
        signed_in(funded_alice), {"model": "portico/test-chat", "messages": HELLO}
    )
    request_id = headers["x-request-id"]
    alice_client = Client()
    alice_client.force_login(funded_alice)

    answer = alice_client.get(f"/playground/usage/{request_id}")  # drains the pending event
    assert answer.status_code == HTTPStatus.OK
    usage = answer.json()
    record = UsageRecord.objects.get(request_id=request_id)
    assert Decimal(usage["cost_usd"]) == record.cost_usd
    assert usage["completion_tokens"] == record.completion_tokens
    assert usage["tokens_reported"] is True and usage["status"] == "ok"
    assert usage["ttft_ms"] == record.ttft_ms and usage["latency_ms"] == record.latency_ms
    assert Decimal(usage["wallet"]["balance_usd"]) == Decimal(10) - record.cost_usd

    bob_client = Client()
    bob_client.force_login(bob)
    assert bob_client.get(f"/playground/usage/{request_id}").status_code == HTTPStatus.NOT_FOUND
    visitor = Client().get(f"/playground/usage/{request_id}")
    assert visitor.status_code == HTTPStatus.UNAUTHORIZED


def test_the_usage_of_an_unknown_request_is_404(alice):
    client = Client()
    client.force_login(alice)
    answer = client.get("/playground/usage/req_0123456789abcdef")
    assert answer.status_code == HTTPStatus.NOT_FOUND
    assert answer.json()["error"]["code"] == "not_found"
