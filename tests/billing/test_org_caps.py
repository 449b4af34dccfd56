"""Caps compose (``billing.caps``): the organization's wallet, the project's monthly and daily
budgets, the member's cap and the key's caps; each refusal names its cap."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from accounts.keys import issue_key
from accounts.models import (
    Organization,
    ProjectMember,
    ServiceAccount,
)
from accounts.places import Caps
from accounts.snapshots import key_context_from, session_context
from billing.credits import credit
from billing.errors import BillingError
from billing.holds import release_hold, reserve_funds
from billing.models import Hold, Wallet
from tests.billing.conftest import fund
from tests.support.orgs import key_in, org_id, team_project
from tests.support.usage import usage_event
from usage.drain import record_usage_events
from usage.models import UsageRecord, UsageRollup


@pytest.fixture
def team(alice, bob, charlie):
    """Acme: alice owns it, bob and charlie are members of its project "api"."""
    return team_project(alice, bob, charlie)


def credit_org(org: Organization, amount: str) -> None:
    credit(org.pk, Decimal(amount), kind="adjustment", idempotency_key=uuid.uuid4().hex)


def reserve(ctx, amount: str, request_id: str | None = None):
    return reserve_funds(
        ctx.organization_id,
        request_id or f"req_{uuid.uuid4().hex}",
        Decimal(amount),
        caps=ctx.caps,
    )


def refusal(ctx, amount: str) -> BillingError:
    with pytest.raises(BillingError) as caught:
        reserve(ctx, amount)
    return caught.value


def test_members_of_an_organization_spend_from_its_one_wallet(team, bob, charlie):
    credit_org(team.organization, "1")
    bob_ctx = key_context_from(key_in(team, bob))
    charlie_ctx = key_context_from(key_in(team, charlie))

    reserve(bob_ctx, "0.6")
    error = refusal(charlie_ctx, "0.6")

    assert error.code == "insufficient_balance"
    wallet = Wallet.objects.get(organization=team.organization)
    assert wallet.held_usd == Decimal("0.6")
    # Their personal wallets are untouched, and each hold names the project and member.
    assert not Hold.objects.exclude(wallet=wallet).exists()
    hold = Hold.objects.get()
    assert (hold.project_id, hold.member_id) == (team.pk, bob.pk)


def test_a_project_budget_counts_spend_and_holds_in_flight(team, bob, charlie):
    team.monthly_budget_usd = Decimal("1")
    team.save()
    credit_org(team.organization, "100")
    bob_key = key_in(team, bob)
    bob_ctx = key_context_from(bob_key)
    charlie_ctx = key_context_from(key_in(team, charlie))
    # 0.5 spent by bob (recorded through the drain, placed in the project), 0.3 in flight.
    record_usage_events([usage_event(bob, api_key_id=bob_key.pk, cost_usd=Decimal("0.5"))])
    reserve(bob_ctx, "0.3")

    error = refusal(charlie_ctx, "0.25")

    assert error.code == "project_budget_exceeded"
    assert error.status == 402
    assert "project's monthly budget of $1.00" in error.message
    assert "spent $0.50, $0.30 in flight" in error.message
    assert reserve(charlie_ctx, "0.2") is not None  # exactly what is left fits


def test_a_daily_project_budget_refuses_with_its_name(team, bob):
    team.daily_budget_usd = Decimal("0.1")
    team.save()
    credit_org(team.organization, "5")
    ctx = key_context_from(key_in(team, bob))

    error = refusal(ctx, "0.11")

    assert error.code == "project_budget_exceeded"
    assert "daily budget" in error.message


def test_the_member_cap_is_the_members_own_else_the_projects(team, bob, charlie):
    team.member_cap_usd = Decimal("0.5")
    team.save()
    ProjectMember.objects.filter(project=team, user=charlie).update(cap_usd=Decimal("2"))
    credit_org(team.organization, "10")
    bob_ctx = key_context_from(key_in(team, bob))
    charlie_ctx = key_context_from(key_in(team, charlie))

    reserve(bob_ctx, "0.4")
    error = refusal(bob_ctx, "0.2")
    reserve(charlie_ctx, "1.5")  # charlie's own cap is higher

    assert error.code == "member_cap_exceeded"
    assert "Your monthly cap of $0.50 in this project" in error.message
    assert "$0.40 in flight" in error.message


def test_a_members_spend_counts_against_their_cap_in_that_project_only(team, bob):
    team.member_cap_usd = Decimal("1")
    team.save()
    credit_org(team.organization, "10")
    fund(bob, "10")
    bob_key = key_in(team, bob)
    personal_key = key_context_from(issue_key(bob, "own").key)
    # Bob's personal usage is another project's: it does not count here.
    record_usage_events([usage_event(bob, cost_usd=Decimal("5"))])
    reserve(personal_key, "1")
    record_usage_events([usage_event(bob, api_key_id=bob_key.pk, cost_usd=Decimal("0.9"))])

    error = refusal(key_context_from(bob_key), "0.2")

    assert error.code == "member_cap_exceeded"
    assert "spent $0.90" in error.message


def test_a_service_account_key_has_no_member_cap_but_the_project_budget(team, bob):
    team.member_cap_usd = Decimal("0.1")
    team.monthly_budget_usd = Decimal("1")
    team.save()
    credit_org(team.organization, "10")
    robot = ServiceAccount.objects.create(project=team, name="ci", created_by=bob)
    ctx = key_context_from(key_in(team, bob, kind="service_account", service_account=robot))

    assert ctx.caps.member_id is None and ctx.caps.member_cap is None
    reserve(ctx, "0.9")
    assert refusal(ctx, "0.2").code == "project_budget_exceeded"


def test_the_key_cap_still_applies_inside_a_project(team, bob):
    team.monthly_budget_usd = Decimal("100")
    team.save()
    credit_org(team.organization, "10")
    ctx = key_context_from(key_in(team, bob, total_budget_usd=Decimal("0.3")))

    reserve(ctx, "0.2")

    assert refusal(ctx, "0.2").code == "key_budget_exceeded"


def test_a_released_hold_gives_its_room_back_to_the_project(team, bob):
    team.monthly_budget_usd = Decimal("1")
    team.save()
    credit_org(team.organization, "10")
    ctx = key_context_from(key_in(team, bob))
    reserve(ctx, "1", "req_big")
    assert refusal(ctx, "0.1").code == "project_budget_exceeded"

    release_hold("req_big")

    assert reserve(ctx, "1") is not None


def test_usage_is_placed_in_the_keys_project_and_a_sessions_default_project(team, bob):
    bob_key = key_in(team, bob)
    record_usage_events(
        [
            usage_event(bob, api_key_id=bob_key.pk, request_id="req_team"),
            usage_event(bob, request_id="req_playground", source="playground"),
        ]
    )

    team_record = UsageRecord.objects.get(request_id="req_team")
    own_record = UsageRecord.objects.get(request_id="req_playground")
    personal = bob.personal_organization
    assert (team_record.organization_id, team_record.project_id) == (
        team.organization_id,
        team.pk,
    )
    assert own_record.organization_id == personal.pk == org_id(bob)
    assert own_record.project_id == personal.projects.get(is_default=True).pk
    assert set(UsageRollup.objects.values_list("project_id", flat=True)) == {
        team.pk,
        own_record.project_id,
    }


def test_a_session_runs_in_the_users_personal_default_project(bob):
    ctx = session_context(bob, "playground")

    assert ctx.organization_id == org_id(bob)
    assert ctx.project_id == bob.personal_organization.projects.get(is_default=True).pk
    assert ctx.caps.member_id == bob.pk


def test_no_caps_means_no_project_lock_and_no_cap_fields(bob):
    fund(bob, "1")
    hold = reserve_funds(org_id(bob), "req_plain", Decimal("0.5"), caps=Caps())

    assert hold.project_id is None and hold.member_id is None
