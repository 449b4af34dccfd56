"""/metrics on Portico's real server: counters move with the right labels, processes add
up, the scrape is protected, and the scrape-time gauges read the database."""

from __future__ import annotations

import socket
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import httpx
import openai
import pytest
from django.test import Client, RequestFactory
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.keys import issue_key
from billing.models import Hold, Wallet
from portal.metrics import internal_peer
from retrieval.models import Collection, Document
from tests.gateway.conftest import drained_records
from tests.support.processes import PorticoServer, child_env, wait_for
from usage.tasks import drain_usage

pytestmark = pytest.mark.django_db(transaction=True)
HELLO = [{"role": "user", "content": "Say hello"}]
TOKEN = "metrics-test-token-0123456789"


def scrape(url: str, token: str | None = None) -> dict[tuple, float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(url + "/metrics", headers=headers, timeout=10)
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-store"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_requests_are_counted_by_endpoint_model_provider_and_status(
    server, client, fake, make_key, client_for, bob
):
    before = scrape(server.url)
    client.chat.completions.create(model="fake-llm", messages=HELLO, max_tokens=5)
    list(client.chat.completions.create(model="fake-llm", messages=HELLO, stream=True))
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model-x1", messages=HELLO)
    after = scrape(server.url)

    labels = {"endpoint": "chat.completions", "model": "fake-llm", "provider": "fake"}
    assert moved(before, after, "portico_requests_total", **labels, status="200") == 2
    # The unknown model is a 404 without a model label: a typo is not a new series.
    unknown = {"endpoint": "chat.completions", "model": "", "provider": "", "status": "404"}
    assert moved(before, after, "portico_requests_total", **unknown) == 1
    assert not any("no-such-model-x1" in str(key) for key in after)
    assert moved(before, after, "portico_request_duration_seconds_count", **labels) == 2
    assert moved(before, after, "portico_request_duration_seconds_sum", **labels) > 0
    assert moved(before, after, "portico_gateway_overhead_seconds_count", **labels) == 2
    # Only the stream has a first token.
    assert moved(before, after, "portico_time_to_first_token_seconds_count", **labels) == 1
    inf = dict(labels, le="+Inf")
    assert moved(before, after, "portico_time_to_first_token_seconds_bucket", **inf) == 1


def test_failovers_upstream_errors_429s_and_402s_are_counted(
    server, client, fake, make_key, client_for, bob
):
    before = scrape(server.url)
    fake.configure(per_model={"flaky-primary": {"fail_status": 500, "fail_count": 1}})
    client.chat.completions.create(model="flaky", messages=HELLO)
    fake.configure(per_model={"broken-a": {"fail_status": 500}, "broken-b": {"fail_status": 500}})
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(model="broken", messages=HELLO)
    limited = client_for(make_key(rpm=1))
    limited.chat.completions.create(model="free-llm", messages=HELLO)
    with pytest.raises(openai.RateLimitError):
        limited.chat.completions.create(model="free-llm", messages=HELLO)
    broke = client_for(issue_key(bob, "unfunded").secret)
    with pytest.raises(openai.APIStatusError) as refused:
        broke.chat.completions.create(model="fake-llm", messages=HELLO)
    assert refused.value.status_code == HTTPStatus.PAYMENT_REQUIRED
    after = scrape(server.url)

    error = {"model": "flaky", "provider": "fake", "reason": "server_error"}
    assert moved(before, after, "portico_upstream_errors_total", **error) == 1
    assert (
        moved(before, after, "portico_upstream_failovers_total", model="flaky", provider="fake")
        == 1
    )
    ok = {"endpoint": "chat.completions", "model": "flaky", "provider": "backup", "status": "200"}
    assert moved(before, after, "portico_requests_total", **ok) == 1
    # Both deployments of "broken" failed: two errors, one failover (the last has no next).
    for provider in ("fake", "backup"):
        error = {"model": "broken", "provider": provider, "reason": "server_error"}
        assert moved(before, after, "portico_upstream_errors_total", **error) == 1
    assert (
        moved(before, after, "portico_upstream_failovers_total", model="broken", provider="fake")
        == 1
    )
    failed = {"endpoint": "chat.completions", "model": "broken", "provider": "backup"}
    assert moved(before, after, "portico_requests_total", **failed, status="502") == 1
    rate = {"endpoint": "chat.completions", "code": "rate_limit_exceeded"}
    assert moved(before, after, "portico_rate_limited_total", **rate) == 1
    funds = {"endpoint": "chat.completions", "code": "insufficient_balance"}
    assert moved(before, after, "portico_payment_required_total", **funds) == 1


def test_scrape_time_gauges_read_holds_queues_and_pending_usage(server, client, funded):
    wallet = Wallet.objects.get(organization__personal_for=funded)
    Hold.objects.create(
        wallet=wallet,
        request_id="req_metrics_hold",
        amount_usd=Decimal("0.25"),
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    Hold.objects.create(
        wallet=wallet,
        request_id="lease_metrics",
        kind=Hold.Kind.LEASE,
        amount_usd=Decimal("0.50"),
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    collection = Collection.objects.create(owner=funded, name="metrics")
    Document.objects.create(collection=collection, filename="a.txt", mime_type="text/plain")
    Document.objects.create(
        collection=collection, filename="b.txt", mime_type="text/plain", status="processing"
    )
    drained_records()
    client.chat.completions.create(model="fake-llm", messages=HELLO, max_tokens=5)
    samples = scrape(server.url)
    assert value(samples, "portico_holds_open") >= 1
    assert value(samples, "portico_holds_open_usd") >= 0.75
    assert value(samples, "portico_funds_leases_open") == 1
    assert value(samples, "portico_funds_leases_open_usd") == 0.5
    assert value(samples, "portico_retrieval_documents", status="queued") == 1
    assert value(samples, "portico_retrieval_documents", status="processing") == 1
    assert value(samples, "portico_ocr_jobs", status="queued") == 0
    assert ("portico_ocr_pages_pending", ()) in samples
    assert value(samples, "portico_usage_events_pending") == 1  # the call, not drained yet


def test_the_workers_drain_shows_up_in_the_web_servers_scrape(server, client, celery_worker):
    before = scrape(server.url)
    for _ in range(3):
        client.chat.completions.create(model="fake-llm", messages=HELLO, max_tokens=5)
    drain_usage.delay()  # to the real worker: another process than the web server

    def drained() -> dict | None:
        samples = scrape(server.url)
        return (
            samples if moved(before, samples, "portico_usage_events_drained_total") >= 3 else None
        )

    after = wait_for(drained, timeout=30, what="the worker's drain in /metrics")
    assert moved(before, after, "portico_usage_drain_batch_size_count") >= 1
    assert moved(before, after, "portico_usage_drain_lag_seconds_count") >= 3
    assert value(after, "portico_usage_drain_last_run_timestamp_seconds") > 0


@pytest.fixture(scope="module")
def token_servers(django_db_setup, tmp_path_factory):
    """Two server processes sharing one fresh metrics folder, with a metrics token."""
    folder = tmp_path_factory.mktemp("metrics")
    env = child_env(METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(folder))
    servers = [PorticoServer(env), PorticoServer(env)]
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_two_server_processes_add_up(token_servers, catalog, make_key):
    first, second = token_servers
    key = make_key()
    headers = {"Authorization": f"Bearer {key}"}
    body = {"model": "fake-llm", "messages": HELLO, "max_tokens": 3}

    def call(server: PorticoServer) -> int:
        return httpx.post(
            server.url + "/v1/chat/completions", json=body, headers=headers, timeout=20
        ).status_code

    # Each process loads the catalog within a second of its change.
    wait_for(lambda: call(first) == 200 and call(second) == 200, timeout=20, what="the catalog")
    before = scrape(first.url, TOKEN)
    for _ in range(2):
        assert call(first) == 200
    for _ in range(3):
        assert call(second) == 200
    labels = {"endpoint": "chat.completions", "model": "fake-llm", "provider": "fake"}
    for server in token_servers:  # either process answers for both
        after = scrape(server.url, TOKEN)
        assert moved(before, after, "portico_requests_total", **labels, status="200") == 5


def test_a_token_protects_the_scrape(token_servers):
    url = token_servers[0].url + "/metrics"
    missing = httpx.get(url)
    assert missing.status_code == HTTPStatus.UNAUTHORIZED
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["error"]["code"] == "invalid_metrics_token"
    wrong = httpx.get(url, headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == HTTPStatus.UNAUTHORIZED
    prefix = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN[:-1]}"})
    assert prefix.status_code == HTTPStatus.UNAUTHORIZED
    basic = httpx.get(url, headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == HTTPStatus.UNAUTHORIZED
    assert "portico_" not in missing.text + wrong.text
    assert httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_a_token_with_a_nul_byte_is_refused(token_servers):
    server = token_servers[0]
    for header in (f"Bearer {TOKEN}\x00", f"Bearer \x00{TOKEN}", "Bearer \x00"):
        request = (
            f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {header}\r\n"
            "Connection: close\r\n\r\n"
        ).encode("latin-1")
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(request)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        status = int(answer.split(b" ", 2)[1])
        assert 400 <= status < 500, answer[:300]
        assert b"portico_requests" not in answer


PROXY_HEADERS = [
    ("X-Forwarded-For", "203.0.113.9"),
    ("Forwarded", "for=203.0.113.9"),
    ("X-Real-IP", "203.0.113.9"),
    ("Via", "1.1 proxy.example"),
    ("X-Forwarded-Host", "portico.example"),
    ("X-Forwarded-Proto", "https"),
    ("CF-Connecting-IP", "203.0.113.9"),
    ("True-Client-IP", "203.0.113.9"),
    ("X-Client-IP", "203.0.113.9"),
    ("X-Cluster-Client-IP", "203.0.113.9"),
    ("Fastly-Client-IP", "203.0.113.9"),
]


@pytest.mark.parametrize(("header", "value"), PROXY_HEADERS)
def test_without_a_token_any_proxy_header_means_not_a_local_scraper(server, header, value):
    relayed = httpx.get(server.url + "/metrics", headers={header: value})
    assert relayed.status_code == HTTPStatus.FORBIDDEN, header
    assert relayed.json()["error"]["code"] == "metrics_not_allowed"


def test_without_a_token_a_proxied_request_is_refused(server):
    plain = httpx.get(server.url + "/metrics")
    assert plain.status_code == HTTPStatus.OK  # the same loopback scraper, no proxy header
    posted = httpx.post(server.url + "/metrics")
    assert posted.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert "portico_" not in posted.text


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("10.1.2.3", True),
        ("172.20.0.5", True),
        ("192.168.1.1", True),
        ("::ffff:10.0.0.1", True),
        ("fd00::1", True),
        ("8.8.8.8", False),
        ("100.64.0.1", False),  # carrier-grade NAT is not our network
        ("2001:4860::1", False),
        ("", False),
        ("not an address", False),
        ("127.0.0.1\x00", False),
    ],
)
def test_without_a_token_only_internal_peers_may_scrape(address, allowed):
    request = RequestFactory().get("/metrics", REMOTE_ADDR=address)
    assert internal_peer(request) is allowed


def test_metrics_can_be_turned_off(settings):
    settings.METRICS_ENABLED = False
    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "METRICS_ENABLED" in response.json()["error"]["message"]
