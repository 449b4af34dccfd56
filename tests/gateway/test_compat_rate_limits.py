"""An upstream's 429 reaches the client as a 429 with Retry-After, so SDKs back off."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus

import openai
import pytest

from gateway.upstream import retry_after_seconds
from tests.gateway.conftest import drained_records

pytestmark = pytest.mark.django_db(transaction=True)
HELLO = [{"role": "user", "content": "Say hello"}]


def test_a_single_deployment_429_passes_through_with_its_retry_after(client, fake):
    fake.configure(
        per_model={"fake-llm": {"fail_status": 429, "fail_headers": {"retry-after": "7"}}}
    )
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="fake-llm", messages=HELLO)
    error = caught.value
    assert error.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert error.response.headers["retry-after"] == "7"
    assert error.response.headers["x-request-id"].startswith("req_")
    assert error.response.headers["x-ratelimit-limit"]
    assert error.body["type"] == "rate_limit_error"
    assert error.code == "upstream_rate_limited"
    assert "HTTP 429" in error.message
    [record] = drained_records()
    assert (record.status, record.http_status, record.cost_usd) == ("error", 429, 0)


def test_a_streamed_request_gets_the_same_429(client, fake):
    fake.configure(
        per_model={"fake-llm": {"fail_status": 429, "fail_headers": {"retry-after": "3"}}}
    )
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="fake-llm", messages=HELLO, stream=True)
    assert caught.value.response.headers["retry-after"] == "3"


def test_a_429_without_retry_after_still_carries_one(client, fake):
    fake.configure(per_model={"fake-llm": {"fail_status": 429}})
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="fake-llm", messages=HELLO)
    assert caught.value.response.headers["retry-after"] == "1"


def test_the_sdk_backs_off_and_succeeds_on_its_retry(client_for, make_key, fake):
    fake.configure(
        per_model={
            "fake-llm": {"fail_status": 429, "fail_count": 1, "fail_headers": {"retry-after": "1"}}
        }
    )
    client = client_for(make_key()).with_options(max_retries=1)
    assert client.chat.completions.create(model="fake-llm", messages=HELLO).choices
    assert fake.tally()["failed"] == 1


def test_when_every_deployment_is_rate_limited_the_soonest_retry_after_wins(client, fake):
    fake.configure(
        per_model={
            "flaky-primary": {"fail_status": 429, "fail_headers": {"retry-after": "30"}},
            "fake-llm": {"fail_status": 429, "fail_headers": {"retry-after": "5"}},
        }
    )
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="flaky", messages=HELLO)
    assert caught.value.response.headers["retry-after"] == "5"


def test_a_rate_limited_deployment_still_fails_over_to_the_next(client, fake):
    fake.configure(per_model={"flaky-primary": {"fail_status": 429}})
    assert client.chat.completions.create(model="flaky", messages=HELLO).model == "flaky"
    [record] = drained_records()
    assert record.provider == "backup" and record.fallbacks == 1


def test_retry_after_is_read_as_seconds_or_an_http_date():
    now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds("0.2") == 1
    assert (
        retry_after_seconds(format_datetime(datetime(2026, 1, 1, 0, 0, 20, tzinfo=UTC)), now) == 20
    )
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("nan") is None
    assert retry_after_seconds("") is None
