"""Every error under /v1 in the API's format, as the official SDK's exceptions."""

from __future__ import annotations

import time
from datetime import timedelta
from http import HTTPStatus

import httpx
import openai
import pytest
from django.utils import timezone

from accounts.keys import revoke_key
from accounts.models import ApiKey
from tests.gateway.conftest import drained_records
from tests.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
HELLO = [{"role": "user", "content": "Say hello"}]


def error_of(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "code", "param"}
    return body["error"]


def test_a_missing_or_unknown_key_is_401(server, client_for):
    response = httpx.post(server.url + "/v1/chat/completions", json={})
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert error_of(response)["type"] == "authentication_error"
    with pytest.raises(openai.AuthenticationError) as caught:
        client_for("sk-" + "x" * 43).chat.completions.create(model="fake-llm", messages=HELLO)
    assert caught.value.code == "invalid_api_key"


def test_an_expired_key_is_401(client_for, make_key):
    secret = make_key()
    ApiKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(openai.AuthenticationError) as caught:
        client_for(secret).models.list()
    assert caught.value.code == "expired_api_key"


def test_a_revoked_key_stops_working_within_two_seconds(client_for, make_key):
    secret = make_key()
    client = client_for(secret)
    client.models.list()  # cached by the server now
    revoke_key(ApiKey.objects.get(name="test"))
    revoked_at = time.monotonic()

    def refused() -> bool:
        try:
            client.models.list()
        except openai.AuthenticationError:
            return True
        return False

    wait_for(refused, timeout=2, what="the revocation to take effect")
    assert time.monotonic() - revoked_at < 2


def test_a_missing_scope_is_403(client_for, make_key):
    client = client_for(make_key(scopes=["embeddings"]))
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.chat.completions.create(model="fake-llm", messages=HELLO)
    assert caught.value.code == "missing_scope"


def test_a_model_outside_the_allowlist_is_403(client_for, make_key, alice):
    client = client_for(make_key(models=["fake-embed"]))
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.chat.completions.create(model="fake-llm", messages=HELLO)
    assert caught.value.code == "model_not_allowed"


def test_an_owner_allowlist_narrowed_by_an_admin_applies_within_two_seconds(
    client_for, make_key, funded
):
    client = client_for(make_key())
    client.chat.completions.create(model="fake-llm", messages=HELLO)
    funded.allowed_models = ["fake-embed"]
    funded.save()
    changed = time.monotonic()

    def refused() -> bool:
        try:
            client.chat.completions.create(model="fake-llm", messages=HELLO)
        except openai.PermissionDeniedError:
            return True
        return False

    wait_for(refused, timeout=2, what="the narrowed allowlist to apply")
    assert time.monotonic() - changed < 2


def test_a_request_from_an_address_outside_the_ip_allowlist_is_403(client_for, make_key):
    client = client_for(make_key(ip_allowlist=["10.9.0.0/16"]))
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.models.list()
    assert caught.value.code == "ip_not_allowed"
    assert client_for(make_key(ip_allowlist=["127.0.0.0/8"])).models.list().data


def test_an_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="no-such-model", messages=HELLO)
    assert caught.value.code == "model_not_found"
    assert caught.value.param == "model"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": HELLO}, "model"),
        ({"model": "fake-llm"}, "messages"),
        ({"model": "fake-llm", "messages": []}, "messages"),
        (
            {"model": "fake-llm", "messages": [{"role": "wizard", "content": "x"}]},
            "messages[0].role",
        ),
        ({"model": "fake-llm", "messages": HELLO, "temperature": 3}, "temperature"),
        ({"model": "fake-llm", "messages": HELLO, "max_tokens": 0}, "max_tokens"),
        ({"model": "fake-llm", "messages": HELLO, "stream": "yes"}, "stream"),
    ],
)
def test_invalid_parameters_are_400_with_the_param(server, make_key, body, param):
    response = httpx.post(
        server.url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {make_key()}"},
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    error = error_of(response)
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert response.headers["x-ratelimit-limit"]


def test_the_sdk_raises_bad_request_for_invalid_parameters(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="fake-llm", messages=HELLO, temperature=5)
    assert caught.value.param == "temperature"


def test_malformed_json_is_400(server, make_key):
    response = httpx.post(
        server.url + "/v1/chat/completions",
        content=b'{"model": ',
        headers={"Authorization": f"Bearer {make_key()}", "Content-Type": "application/json"},
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert error_of(response)["code"] == "invalid_json"


def test_unknown_routes_and_wrong_methods_answer_in_the_error_format(server, make_key):
    headers = {"Authorization": f"Bearer {make_key()}"}
    for prefix in ("/v1", "/api/v1"):
        missing = httpx.get(server.url + prefix + "/nope", headers=headers)
        assert missing.status_code == HTTPStatus.NOT_FOUND
        assert error_of(missing)["type"] == "not_found_error"
        wrong = httpx.get(server.url + prefix + "/chat/completions", headers=headers)
        assert wrong.status_code == HTTPStatus.METHOD_NOT_ALLOWED
        assert error_of(wrong)["code"] == "method_not_allowed"
        for answer in (missing, wrong):  # like every /v1 answer
            assert answer.headers["x-request-id"].startswith("req_")
            assert answer.headers["server-timing"].startswith("gateway;dur=")


def test_the_api_v1_alias_serves_the_same_api(server, make_key):
    client = openai.OpenAI(api_key=make_key(), base_url=server.url + "/api/v1", max_retries=0)
    assert client.chat.completions.create(model="fake-llm", messages=HELLO).choices


def test_rate_limit_headers_are_on_plain_and_streamed_responses(client):
    plain = client.chat.completions.with_raw_response.create(model="fake-llm", messages=HELLO)
    streamed = client.chat.completions.with_raw_response.create(
        model="fake-llm", messages=HELLO, stream=True
    )
    for raw in (plain, streamed):
        headers = raw.http_response.headers
        assert int(headers["x-ratelimit-limit"]) >= int(headers["x-ratelimit-remaining"])
        assert int(headers["x-ratelimit-reset"]) > time.time() - 1
        assert headers["x-request-id"] and "x-portico-overhead-ms" in headers
    assert (
        int(streamed.http_response.headers["x-ratelimit-remaining"])
        == int(plain.http_response.headers["x-ratelimit-remaining"]) - 1
    )
    list(streamed.parse())


def test_the_rate_limit_answers_429_with_retry_after(client_for, make_key):
    client = client_for(make_key(rpm=2))
    client.chat.completions.create(model="fake-llm", messages=HELLO)
    client.chat.completions.create(model="fake-llm", messages=HELLO)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="fake-llm", messages=HELLO)
    headers = caught.value.response.headers
    assert 1 <= int(headers["retry-after"]) <= 60
    assert headers["x-ratelimit-remaining"] == "0"
    records = drained_records()
    assert [r.http_status for r in records] == [200, 200, 429]


def test_a_token_limit_refuses_a_request_that_could_exceed_it(client_for, make_key):
    client = client_for(make_key(tpm=50))
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="fake-llm", messages=HELLO, max_tokens=100)
    assert caught.value.code == "tokens_per_minute_exceeded"
    assert client.chat.completions.create(model="fake-llm", messages=HELLO, max_tokens=10).choices


def test_a_token_limit_counts_the_tokens_really_used_not_the_admitted_guess(client_for, make_key):
    client = client_for(make_key(tpm=100_000))
    client.chat.completions.create(model="fake-llm", messages=HELLO, max_tokens=20_000)

    def remaining_tokens() -> int:
        raw = client.chat.completions.with_raw_response.create(
            model="fake-llm", messages=HELLO, max_tokens=10
        )
        return int(raw.http_response.headers["x-ratelimit-remaining-tokens"])

    # Admitted as 20,000+ tokens, it used a few dozen: the counter is set right (with
    # Redis after the answer, so wait for it).
    wait_for(lambda: remaining_tokens() > 99_000, timeout=10, what="the token count")


def test_it_fails_over_when_the_first_deployment_answers_500(client, fake):
    fake.configure(per_model={"flaky-primary": {"fail_status": 500, "fail_count": 1}})
    reply = client.chat.completions.create(model="flaky", messages=HELLO)
    assert reply.choices[0].message.content
    [record] = drained_records()
    assert record.provider == "backup" and record.fallbacks == 1


def test_it_fails_over_on_a_timeout_before_the_first_byte(client, fake):
    fake.configure(per_model={"sleepy-primary": {"hang": True}})
    reply = client.chat.completions.create(model="sleepy", messages=HELLO, stream=False)
    assert reply.choices[0].message.content
    assert drained_records()[0].provider == "backup"


def test_a_deployment_that_keeps_failing_cools_down(client, fake):
    fake.configure(per_model={"flaky-primary": {"fail_status": 503}})
    for _ in range(3):
        client.chat.completions.create(model="flaky", messages=HELLO)
    before = fake.tally()["by_model"]["flaky-primary"]["requests"]
    for _ in range(3):
        client.chat.completions.create(model="flaky", messages=HELLO)
    assert fake.tally()["by_model"]["flaky-primary"]["requests"] == before  # skipped while cooling


def test_when_every_deployment_fails_it_is_502_with_the_reason(client, fake):
    fake.configure(per_model={"broken-a": {"fail_status": 500}, "broken-b": {"fail_status": 429}})
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="broken", messages=HELLO)
    assert caught.value.status_code == HTTPStatus.BAD_GATEWAY
    assert "HTTP 500" in caught.value.message and "HTTP 429" in caught.value.message
    for _ in range(2):  # two more failures cool both deployments down
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="broken", messages=HELLO)
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="broken", messages=HELLO)
    assert caught.value.status_code == HTTPStatus.SERVICE_UNAVAILABLE


def test_an_upstream_stream_that_breaks_is_reported_and_metered(server, make_key, fake):
    fake.configure(drop_stream_after=3)
    body = {"model": "fake-llm", "messages": HELLO, "stream": True}
    with httpx.stream(
        "POST",
        server.url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {make_key()}"},
    ) as response:
        text = b"".join(response.iter_bytes()).decode()
    assert "upstream_stream_broken" in text and "[DONE]" not in text
    [record] = drained_records()
    assert record.status == "error" and record.completion_tokens == 3 and record.cost_usd > 0


def test_an_empty_wallet_is_402_before_any_upstream_call(client_for, make_key, fake, bob):
    client = client_for(make_key(owner=bob))
    fake.reset_tally()
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="fake-llm", messages=HELLO)
    assert caught.value.status_code == HTTPStatus.PAYMENT_REQUIRED
    assert caught.value.code == "insufficient_balance"
    assert fake.tally()["requests"] == 0
    assert client.chat.completions.create(
        model="free-llm", messages=HELLO
    ).choices  # unpriced is fine


def test_a_key_spend_cap_refuses_with_402_key_budget_exceeded(client_for, make_key, fake):
    from decimal import Decimal

    # fake-llm costs $1/$2 per 1M tokens: a 5-token answer to HELLO costs well under a millionth
    # of the cap below, but the worst case of max_tokens=2000 does not fit it.
    client = client_for(make_key(total_budget=Decimal("0.001")))
    assert client.chat.completions.create(model="fake-llm", messages=HELLO, max_tokens=5).choices
    fake.reset_tally()
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="fake-llm", messages=HELLO, max_tokens=2000)
    assert caught.value.status_code == HTTPStatus.PAYMENT_REQUIRED
    assert caught.value.code == "key_budget_exceeded"
    assert fake.tally()["requests"] == 0
    # Unpriced models cost nothing, so the cap does not apply to them.
    assert client.chat.completions.create(model="free-llm", messages=HELLO, max_tokens=2000).choices


def test_when_every_deployment_cools_down_it_is_503_with_retry_after(
    client, server, fake, make_key
):
    fake.configure(per_model={"broken-a": {"fail_status": 500}, "broken-b": {"fail_status": 500}})
    for _ in range(3):  # DEPLOYMENT_FAILURES_BEFORE_COOLDOWN failures each: both cool down
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="broken", messages=HELLO)
    tried = fake.tally()["requests"]
    secret = make_key(name="after-cooldown")

    response = httpx.post(
        server.url + "/v1/chat/completions",
        json={"model": "broken", "messages": HELLO},
        headers={"Authorization": f"Bearer {secret}"},
    )

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    error = error_of(response)
    assert (error["type"], error["code"]) == ("service_unavailable", "service_unavailable")
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 30  # DEPLOYMENT_COOLDOWN_SECONDS, less the time spent since
    assert f"Retry after {retry_after} s" in error["message"]
    assert fake.tally()["requests"] == tried  # no provider was called
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="broken", messages=HELLO)
    assert caught.value.status_code == HTTPStatus.SERVICE_UNAVAILABLE
