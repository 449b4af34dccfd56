"""A web process killed with SIGKILL while it holds a small wallet's funds: the next
requests, from another process, are served as far as the wallet really allows within
``HOLD_TTL_SECONDS`` (the default, 30 s) of the kill.

Before, a lease could take most of a small wallet (98.6 % of what was left, in the
attack test) and a killed process's lease and holds stayed for 15 minutes, blocking the
wallet and any per-key budget.
"""

from __future__ import annotations

import math
import os
import signal
import threading
from collections.abc import Iterator
from http import HTTPStatus

import httpx
import pytest

from billing.lease import LEASE_MIN_WORST_CASES, MAX_WALLET_SHARE
from billing.models import Hold
from tests.billing.conftest import assert_ledger_invariants, fund, wallet_of
from tests.billing.test_exact_money import BODY, MAX_TOKENS, WORST, exact_model  # noqa: F401
from tests.billing.test_funds_leases import leases_of
from tests.support.processes import PorticoServer, child_env, wait_for
from usage.drain import drain_usage

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
# How long after a kill the test waits at most for the wallet to be whole again: the
# documented bound (HOLD_TTL_SECONDS's default) plus room for a loaded machine.
DOCUMENTED_TTL_SECONDS = 30
RECOVERY_DEADLINE = DOCUMENTED_TTL_SECONDS + 20


@pytest.fixture
def two_servers(catalog, exact_model, make_key) -> Iterator[list[PorticoServer]]:  # noqa: F811
    """Two web processes with the defaults (leases on, HOLD_TTL_SECONDS unset)."""
    env = child_env(CELERY_TASK_ALWAYS_EAGER="1")
    env.pop("HOLD_TTL_SECONDS", None)
    servers = [PorticoServer(env) for _ in range(2)]
    try:
        probe = make_key(name="probe", scopes=["models"])
        for server in servers:
            server.wait_ready()
            wait_for(
                lambda s=server: (
                    httpx.get(
                        s.url + "/v1/models/exact-llm",
                        headers={"Authorization": f"Bearer {probe}"},
                    ).status_code
                    == HTTPStatus.OK
                ),
                what="the server to see exact-llm",
            )
        yield servers
    finally:
        for server in servers:
            server.stop()


def post(server: PorticoServer, secret: str, body: dict = BODY) -> httpx.Response:
    return httpx.post(
        server.url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {secret}"},
        timeout=60,
    )


def kill(server: PorticoServer) -> None:
    os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait()


def serve_until_refused(server: PorticoServer, secret: str) -> tuple[int, httpx.Response]:
    served = 0
    while (answer := post(server, secret)).status_code == HTTPStatus.OK:
        served += 1
    return served, answer


def test_a_killed_process_lease_of_a_small_wallet_holds_a_quarter_at_most_and_briefly(
    two_servers, make_key, fake, bob
):
    doomed, survivor = two_servers
    count = LEASE_MIN_WORST_CASES + 8  # just big enough for a lease
    fund(bob, WORST * count)
    secret = make_key(owner=bob)
    # Requests the upstream refuses cost nothing but make the doomed process lease.
    fake.configure(fail_status=400)

    def leased() -> bool:
        for _ in range(12):
            post(doomed, secret)
        drain_usage()
        return bool(leases_of(bob))

    wait_for(leased, timeout=20, interval=0.2, what="a funds lease")
    fake.configure(fail_status=None, fail_count=0, completion_tokens=MAX_TOKENS)
    [lease] = leases_of(bob)
    assert lease.amount_usd <= WORST * count * MAX_WALLET_SHARE
    served = sum(post(doomed, secret).status_code == HTTPStatus.OK for _ in range(3))
    assert served == 3

    kill(doomed)
    drain_usage()  # what the worker does every second: the doomed requests are charged
    # At once, the other process serves everything but what the dead lease still holds.
    more, refused = serve_until_refused(survivor, secret)
    assert refused.json()["error"]["code"] == "insufficient_balance", refused.text
    stuck = Hold.objects.get(pk=lease.pk).amount_usd
    assert stuck <= WORST * count * MAX_WALLET_SHARE
    assert served + more == count - math.ceil(stuck / WORST)

    # Within HOLD_TTL_SECONDS of the kill, the dead lease lets go of the rest.
    def whole() -> bool:
        nonlocal more
        gained, _ = serve_until_refused(survivor, secret)
        more += gained
        return served + more == count

    wait_for(whole, timeout=RECOVERY_DEADLINE, interval=0.5, what="the dead lease to expire")
    assert post(survivor, secret).status_code == HTTPStatus.PAYMENT_REQUIRED
    assert Hold.objects.get(pk=lease.pk).status == Hold.Status.EXPIRED

    def drained() -> bool:
        drain_usage()
        wallet = wallet_of(bob)
        return wallet.balance_usd == 0 and wallet.held_usd == 0

    wait_for(drained, timeout=20, what="every charge to be drained")
    assert_ledger_invariants(bob)


def test_a_killed_process_in_flight_holds_stop_blocking_a_key_budget_within_the_ttl(
    two_servers, make_key, fake, bob
):
    doomed, survivor = two_servers
    fund(bob, "1")
    capped = make_key(owner=bob, total_budget=WORST * 3)
    # Three slow streams fill the key's budget with holds of requests in flight.
    fake.configure(completion_tokens=MAX_TOKENS, token_interval_ms=5_000)
    stream = {**BODY, "stream": True}
    threads = [
        threading.Thread(target=lambda: _stream_until_cut(doomed, capped, stream), daemon=True)
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    wait_for(
        lambda: (
            Hold.objects.filter(
                wallet__organization__personal_for=bob, status=Hold.Status.OPEN
            ).count()
            == 3
        ),
        what="three requests in flight",
    )

    kill(doomed)
    fake.configure(token_interval_ms=0)
    refused = post(survivor, capped)
    assert refused.status_code == HTTPStatus.PAYMENT_REQUIRED
    assert refused.json()["error"]["code"] == "key_budget_exceeded"

    served = 0

    def budget_back() -> bool:
        nonlocal served
        more, answer = serve_until_refused(survivor, capped)
        served += more
        return served == 3 and answer.json()["error"]["code"] == "key_budget_exceeded"

    wait_for(budget_back, timeout=RECOVERY_DEADLINE, interval=0.5, what="the dead holds to expire")
    for thread in threads:
        thread.join(timeout=10)
    dead = Hold.objects.filter(wallet__organization__personal_for=bob, status=Hold.Status.EXPIRED)
    assert dead.count() == 3
    drain_usage()
    assert wallet_of(bob).balance_usd == 1 - WORST * 3
    assert_ledger_invariants(bob)


def _stream_until_cut(server: PorticoServer, secret: str, body: dict) -> None:
    try:
        with httpx.stream(
            "POST",
            server.url + "/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {secret}"},
            timeout=60,
        ) as response:
            for _ in response.iter_lines():
                pass
    except httpx.HTTPError:
        pass  # the server was killed mid-stream
