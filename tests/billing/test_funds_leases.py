"""Funds leases with real web processes: money stays exact while busy wallets' requests
are admitted in memory (``billing.leases``)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from http import HTTPStatus

import httpx
import pytest
from django.db.models import Sum

from billing.holds import release_expired_holds
from billing.models import Hold, Wallet
from tests.billing.conftest import assert_ledger_invariants, fund, wallet_of
from tests.billing.test_gateway_charges import drained_records, worst_case_cost
from tests.support.processes import PorticoServer, child_env, wait_for
from usage.drain import drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
TTL = 2  # HOLD_TTL_SECONDS of these servers: a crashed process's lease expires quickly
BODY = {
    "model": "fake-llm",
    "messages": [{"role": "user", "content": "Say hello"}],
    "max_tokens": 50,
}


def start_servers(count: int, **env: str) -> list[PorticoServer]:
    servers = [
        PorticoServer(
            child_env(
                CELERY_TASK_ALWAYS_EAGER="1",
                HOLD_TTL_SECONDS=str(TTL),
                FUNDS_LEASES="1",
                **env,
            )
        )
        for _ in range(count)
    ]
    for server in servers:
        server.wait_ready()
    return servers


def running(count: int, make_key) -> Iterator[list[PorticoServer]]:
    servers = start_servers(count)
    try:
        probe = make_key(name="probe", scopes=["models"])
        for server in servers:
            wait_for(
                lambda s=server: (
                    httpx.get(
                        s.url + "/v1/models", headers={"Authorization": f"Bearer {probe}"}
                    ).status_code
                    == HTTPStatus.OK
                ),
                what="the server to answer",
            )
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def two_servers(catalog, make_key) -> Iterator[list[PorticoServer]]:
    yield from running(2, make_key)


@pytest.fixture
def one_server(catalog, make_key) -> Iterator[PorticoServer]:
    for servers in running(1, make_key):
        yield servers[0]


def post(server: PorticoServer, secret: str, body: dict = BODY) -> httpx.Response:
    return httpx.post(
        server.url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {secret}"},
        timeout=60,
    )


def leases_of(user) -> list[Hold]:
    return list(Hold.objects.filter(wallet__organization__personal_for=user, kind=Hold.Kind.LEASE))


def make_busy(
    servers: list[PorticoServer], secret: str, user, body: dict = BODY, requests: int = 12
) -> set[str]:
    """Quick requests to each server until each holds a lease of ``user``'s wallet;
    answers the request ids it sent."""
    sent: set[str] = set()
    for server in servers:
        before = {h.pk for h in leases_of(user)}

        def leased(s=server, known=before) -> bool:
            for _ in range(requests):
                sent.add(post(s, secret, body).headers["x-request-id"])
            drain_usage()  # settled holds free their funds for the next round
            return bool({h.pk for h in leases_of(user)} - known)

        try:
            wait_for(leased, timeout=20, interval=0.2, what="a funds lease")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{server.output()}") from None
    return sent


class WalletWatch:
    """Reads the wallet row all along: never negative, never more held than its balance."""

    def __init__(self, user) -> None:
        self.wallet_pk = wallet_of(user).pk
        self.seen: list[tuple[Decimal, Decimal]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)

    def watch(self) -> None:
        from django.db import connection

        try:
            while not self.stop.wait(0.02):
                row = Wallet.objects.values("balance_usd", "held_usd").get(pk=self.wallet_pk)
                self.seen.append((row["balance_usd"], row["held_usd"]))
        finally:
            connection.close()

    def __enter__(self) -> WalletWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        assert self.seen
        assert all(balance >= 0 and 0 <= held <= balance for balance, held in self.seen)


def test_two_processes_serve_at_most_ten_of_a_hundred_requests_against_funds_for_ten(
    two_servers, make_key, fake, bob, charlie
):
    # Every answer uses all of max_tokens, so a request costs almost its worst case.
    fake.configure(completion_tokens=200)
    worst = worst_case_cost(BODY)
    fund(charlie, "1")
    [probe] = [r.headers["x-request-id"] for r in [post(two_servers[0], make_key(owner=charlie))]]
    [record] = drained_records({probe})
    cost = record.cost_usd
    assert worst / 2 < cost <= worst
    # After ten requests, less than one worst case is left: an eleventh can never fit.
    fund(bob, cost * 9 + worst)
    secret = make_key(owner=bob)
    # Both processes lease from the wallet while it is full: small requests the upstream
    # refuses are reserved, then cost nothing (the leases grow to the larger worst case).
    fake.configure(fail_status=400)
    make_busy(two_servers, secret, bob, {**BODY, "max_tokens": 1})
    fake.configure(fail_status=None, fail_count=0)
    drain_usage()
    assert wallet_of(bob).balance_usd == cost * 9 + worst
    assert len(leases_of(bob)) >= 2

    def call(index: int) -> httpx.Response:
        return post(two_servers[index % 2], secret)

    with WalletWatch(bob), ThreadPoolExecutor(max_workers=100) as pool:
        responses = list(pool.map(call, range(100)))

    codes = [r.status_code for r in responses]
    assert set(codes) <= {HTTPStatus.OK, HTTPStatus.PAYMENT_REQUIRED}
    served = {r.headers["x-request-id"] for r in responses if r.status_code == HTTPStatus.OK}
    assert 1 <= len(served) <= 10
    records = drained_records(served)
    assert all(r.cost_usd == cost for r in records)
    wallet = wallet_of(bob)
    assert wallet.balance_usd == cost * 9 + worst - cost * len(served) >= 0
    assert wallet.held_usd <= wallet.balance_usd
    assert_ledger_invariants(bob)


def test_a_process_killed_with_a_lease_loses_no_usage_and_its_lease_expires(
    one_server, make_key, bob
):
    fund(bob, "5")
    secret = make_key(owner=bob)
    sent = make_busy([one_server], secret, bob)
    [lease] = leases_of(bob)
    # Admitted against the lease in memory: no hold row of their own.
    served = {post(one_server, secret).headers["x-request-id"] for _ in range(20)}
    assert not Hold.objects.filter(request_id__in=served).exists()

    os.killpg(one_server.proc.pid, signal.SIGKILL)
    one_server.proc.wait()
    # Every answered request has its usage record, and each was charged once.
    records = drained_records(sent | served)
    assert all(r.status == "ok" and r.cost_usd > 0 for r in records)
    lease.refresh_from_db()
    assert lease.status == Hold.Status.OPEN and lease.amount_usd > 0

    def expired() -> bool:
        release_expired_holds()
        return Hold.objects.get(pk=lease.pk).status == Hold.Status.EXPIRED

    wait_for(expired, timeout=TTL * 5, interval=0.2, what="the lease to expire")
    wallet = wallet_of(bob)
    spent = UsageRecord.objects.filter(user=bob).aggregate(s=Sum("cost_usd"))["s"]
    assert wallet.held_usd == 0 and wallet.balance_usd == Decimal(5) - spent
    assert_ledger_invariants(bob)


def test_a_live_process_renews_its_lease_and_gives_it_back_when_it_stops(one_server, make_key, bob):
    fund(bob, "5")
    secret = make_key(owner=bob)
    make_busy([one_server], secret, bob)
    [lease] = leases_of(bob)
    first_expiry = lease.expires_at

    def renewed() -> bool:
        release_expired_holds()
        return Hold.objects.get(pk=lease.pk).expires_at > first_expiry

    wait_for(renewed, timeout=TTL * 3, interval=0.2, what="the lease's expiry to move on")
    release_expired_holds()
    assert Hold.objects.get(pk=lease.pk).status == Hold.Status.OPEN
    drain_usage()

    one_server.stop()  # SIGTERM: a graceful exit gives the unused lease back
    lease.refresh_from_db()
    assert lease.status == Hold.Status.RELEASED and lease.amount_usd == 0
    assert wallet_of(bob).held_usd == 0
    assert_ledger_invariants(bob)


def test_a_key_with_a_spend_cap_keeps_per_request_holds_and_its_cap(
    two_servers, make_key, fake, bob
):
    fake.configure(completion_tokens=200)
    worst = worst_case_cost(BODY)
    fund(bob, "5")
    capped = make_key(owner=bob, total_budget=worst * 3)

    with WalletWatch(bob), ThreadPoolExecutor(max_workers=40) as pool:
        responses = list(pool.map(lambda i: post(two_servers[i % 2], capped), range(40)))

    served = {r.headers["x-request-id"] for r in responses if r.status_code == HTTPStatus.OK}
    refused = [r for r in responses if r.status_code != HTTPStatus.OK]
    assert 1 <= len(served) <= 3
    assert {r.json()["error"]["code"] for r in refused} == {"key_budget_exceeded"}
    records = drained_records(served)
    assert sum(r.cost_usd for r in records) <= worst * 3
    assert not leases_of(bob)
    assert_ledger_invariants(bob)
