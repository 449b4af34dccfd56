"""No overspend at any level with two web processes: 200 concurrent requests against a
project budget (or a member's cap) that pays for 10 serve at most 10. Run on the embedded
default and, with ``DATABASE_URL`` and ``REDIS_URL``, on PostgreSQL + Redis."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.db.models import Sum

from billing.credits import credit
from billing.models import Hold, Wallet
from tests.billing.test_funds_leases import BODY, post, two_servers  # noqa: F401
from tests.billing.test_gateway_charges import drained_records, worst_case_cost
from tests.support.orgs import key_in, team_project
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
REQUESTS = 200


def burst(servers, secrets: list[str]) -> list:
    def call(index: int):
        return post(servers[index % 2], secrets[index % len(secrets)])

    with ThreadPoolExecutor(max_workers=100) as pool:
        return list(pool.map(call, range(REQUESTS)))


def outcome(responses, code: str) -> set[str]:
    statuses = {r.status_code for r in responses}
    assert statuses <= {HTTPStatus.OK, HTTPStatus.PAYMENT_REQUIRED}, statuses
    refused = {r.json()["error"]["code"] for r in responses if r.status_code != HTTPStatus.OK}
    assert refused == {code}
    return {r.headers["x-request-id"] for r in responses if r.status_code == HTTPStatus.OK}


def assert_wallet_exact(project) -> None:
    wallet = Wallet.objects.get(organization=project.organization)
    open_holds = Hold.objects.filter(wallet=wallet, status=Hold.Status.OPEN)
    assert wallet.held_usd == (open_holds.aggregate(s=Sum("amount_usd"))["s"] or 0)
    spent = UsageRecord.objects.filter(organization=project.organization)
    assert wallet.balance_usd == Decimal(100) - (spent.aggregate(s=Sum("cost_usd"))["s"] or 0)


def test_two_processes_serve_at_most_ten_of_200_requests_against_a_project_budget_for_ten(
    two_servers,  # noqa: F811
    fake,
    bob,
    charlie,
):
    fake.configure(completion_tokens=200)
    worst = worst_case_cost(BODY)
    project = team_project(bob, charlie)
    credit(project.organization_id, Decimal(100), kind="adjustment", idempotency_key="org-fund")
    # Ten worst cases fit, an eleventh never: the rest is less than one.
    project.monthly_budget_usd = worst * 10 + worst / 2
    project.save()
    secrets = [key_in(project, bob).secret, key_in(project, charlie).secret]

    served = outcome(burst(two_servers, secrets), "project_budget_exceeded")

    assert 1 <= len(served) <= 10
    records = drained_records(served)
    assert sum(r.cost_usd for r in records) <= project.monthly_budget_usd
    assert {r.project_id for r in records} == {project.pk}
    assert not Hold.objects.filter(project=project, status=Hold.Status.OPEN).exists()
    assert_wallet_exact(project)


def test_two_processes_serve_at_most_ten_of_200_requests_against_a_member_cap_for_ten(
    two_servers,  # noqa: F811
    fake,
    bob,
    charlie,
):
    fake.configure(completion_tokens=200)
    worst = worst_case_cost(BODY)
    project = team_project(bob, charlie)
    credit(project.organization_id, Decimal(100), kind="adjustment", idempotency_key="org-fund")
    project.member_cap_usd = worst * 10 + worst / 2
    project.save()
    # Two keys of one member: the cap is the member's, whichever key spends.
    secrets = [key_in(project, charlie).secret, key_in(project, charlie).secret]

    served = outcome(burst(two_servers, secrets), "member_cap_exceeded")

    assert 1 <= len(served) <= 10
    records = drained_records(served)
    assert sum(r.cost_usd for r in records) <= project.member_cap_usd
    assert {r.user_id for r in records} == {charlie.pk}
    # Bob, another member, still has his own cap.
    assert post(two_servers[0], key_in(project, bob).secret).status_code == HTTPStatus.OK
    assert_wallet_exact(project)
