"""Gateway contract-test setup: Portico's real server, the fake upstream, real keys."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import openai
import pytest

from accounts.keys import issue_key
from billing.credits import credit
from catalog.models import Deployment, Model, Provider
from fakeupstream import FakeUpstream
from tests.support.orgs import org_id
from tests.support.processes import wait_for
from usage.drain import discard_pending_events, drain_usage


@pytest.fixture(scope="session")
def upstream():
    up = FakeUpstream.start()
    try:
        yield up
    finally:
        up.stop()


@pytest.fixture
def fake(upstream):
    upstream.reset()
    yield upstream
    upstream.reset()


def add_model(
    public_id: str,
    deployments: list[tuple[Provider, str, int]],
    *,
    type: str = "llm",
    price_in: str = "0",
    price_out: str = "0",
    **extra,
) -> Model:
    model = Model.objects.create(
        public_id=public_id,
        type=type,
        input_price_per_1m=Decimal(price_in),
        output_price_per_1m=Decimal(price_out),
        **extra,
    )
    for provider, upstream_model, priority in deployments:
        Deployment.objects.create(
            model=model, provider=provider, upstream_model=upstream_model, priority=priority
        )
    return model


@pytest.fixture
def catalog(transactional_db, fake):
    """Providers on the fake upstream, and the models the tests call."""
    discard_pending_events()
    base = fake.url + "/v1"
    primary = Provider.objects.create(
        name="fake", kind="openai", base_url=base, first_byte_timeout=5
    )
    backup = Provider.objects.create(
        name="backup", kind="openai", base_url=base, first_byte_timeout=5
    )
    slow = Provider.objects.create(
        name="slow", kind="openai", base_url=base, first_byte_timeout=0.5
    )
    claude = Provider.objects.create(name="claude", kind="anthropic", base_url=base)
    local = Provider.objects.create(name="local", kind="local")
    primary.set_api_key("upstream-secret")
    primary.save()
    add_model(
        "fake-llm", [(primary, "fake-llm", 1)], price_in="1", price_out="2", context_window=8192
    )
    add_model("fake-embed", [(primary, "fake-embed", 1)], type="embedding", price_in="0.1")
    # A mark only this test's catalog carries: `server` waits until the server sees it.
    marker = f"test catalog {uuid.uuid4().hex}"
    add_model("flaky", [(primary, "flaky-primary", 1), (backup, "fake-llm", 2)], description=marker)
    add_model("sleepy", [(slow, "sleepy-primary", 1), (backup, "fake-llm", 2)])
    add_model("broken", [(primary, "broken-a", 1), (backup, "broken-b", 2)])
    add_model("fake-claude", [(claude, "fake-llm", 1)], price_in="3", price_out="15")
    add_model("portico/test-chat", [(local, "test-chat", 1)], price_in="0.5", price_out="1.5")
    add_model("free-llm", [(primary, "fake-llm", 1)])
    return {"primary": primary, "backup": backup, "local": local, "marker": marker}


@pytest.fixture
def funded(alice):
    credit(org_id(alice), Decimal("10"), kind="adjustment", idempotency_key=f"test-fund:{alice.pk}")
    return alice


@pytest.fixture
def make_key(catalog, funded):
    def make(owner=None, **options) -> str:
        return issue_key(owner or funded, options.pop("name", "test"), **options).secret

    return make


@pytest.fixture
def server(portico_server, catalog, make_key):
    """The running server, once it sees this test's catalog (it reloads within a second):
    not the previous test's, whose deployments (and their failure counts) differ."""
    wait_for_test_catalog(portico_server.url, catalog, make_key)
    return portico_server


def wait_for_test_catalog(url: str, catalog: dict, make_key) -> None:
    probe = make_key(name="probe", scopes=["models"])

    def sees_catalog() -> bool:
        response = httpx.get(
            url + "/v1/models/catalog",
            params={"search": "flaky"},
            headers={"Authorization": f"Bearer {probe}"},
        )
        return response.status_code == 200 and any(
            m["id"] == "flaky" and m["description"] == catalog["marker"]
            for m in response.json()["data"]
        )

    wait_for(sees_catalog, timeout=10, what="the server to load the test catalog")


@pytest.fixture
def client_for(server):
    def make(secret: str) -> openai.OpenAI:
        return openai.OpenAI(api_key=secret, base_url=server.url + "/v1", max_retries=0, timeout=20)

    return make


@pytest.fixture
def client(client_for, make_key):
    return client_for(make_key())


def drained_records(**filters):
    from usage.models import UsageRecord

    drain_usage()
    return list(UsageRecord.objects.filter(**filters).order_by("pk"))
