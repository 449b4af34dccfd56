"""Fixtures for the fake upstream's own tests (no Django involved)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from fakeupstream import FakeUpstream


@pytest.fixture(scope="session")
def upstream_server() -> Iterator[FakeUpstream]:
    server = FakeUpstream.start()
    yield server
    server.stop()


@pytest.fixture
def upstream(upstream_server: FakeUpstream) -> FakeUpstream:
    """The shared in-thread server, reset to its startup state for each test."""
    upstream_server.reset()
    return upstream_server


@pytest.fixture
def client(upstream: FakeUpstream) -> Iterator[openai.OpenAI]:
    http_client = openai.DefaultHttpxClient(trust_env=False)
    sdk = openai.OpenAI(
        base_url=upstream.base_url, api_key="sk-test", max_retries=0, http_client=http_client
    )
    yield sdk
    sdk.close()


@pytest.fixture
def http(upstream: FakeUpstream) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=upstream.url, timeout=10, trust_env=False) as http_client:
        yield http_client
