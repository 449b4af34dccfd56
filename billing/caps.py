"""Caps compose: a reservation fits the project's budgets, the member's cap and the key's
caps, or it is refused (402 naming the cap) before the wallet is touched.

Each level counts what was spent (the hourly usage rollups, which the drain writes in
the transaction that closes each request's hold) plus what is in flight (open holds of
that project, member or key) plus the new amount. Two reservations of one project (or
one key) cannot both fit the last cents: the project's row (and the key's) is locked
first, always in the order project → key → wallet, so they queue. A capped request
therefore takes a per-request hold, never a funds lease (``billing.leases``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import ApiKey, Project
from accounts.places import Caps
from billing.errors import BillingError
from billing.models import Hold
from ground.money import ZERO, format_cost
from usage.models import UsageRollup


def period_starts(now: datetime) -> dict[str, datetime | None]:
    return {
        "daily": now.replace(hour=0, minute=0, second=0, microsecond=0),
        "monthly": now.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
        "total": None,
    }


def check_caps(caps: Caps, amount: Decimal, release_expired) -> None:
    """Raise ``BillingError`` naming the first cap ``amount`` would exceed (widest first:
    the project's, the member's, the key's). Runs in the reservation's transaction;
    ``release_expired(q)`` releases expired holds among ``q`` (a killed process's)."""
    starts = period_starts(timezone.now())
    project_capped = caps.project_id is not None and (
        caps.project_monthly is not None
        or caps.project_daily is not None
        or caps.member_cap is not None
    )
    if project_capped:
        Project.objects.select_for_update().filter(pk=caps.project_id).first()
        check_project(caps, amount, starts, release_expired)
    key_budgets = {k: v for k, v in caps.key_budgets.items() if v is not None}
    if caps.api_key_id and key_budgets:
        check_key_budgets(caps.api_key_id, amount, key_budgets, starts, release_expired)


def in_flight(among: Q, release_expired) -> Decimal:
    held = open_holds(among)
    if held and release_expired(among):
        held = open_holds(among)  # a killed process's holds expired
    return held


def open_holds(among: Q) -> Decimal:
    rows = Hold.objects.filter(among, status=Hold.Status.OPEN)
    return rows.aggregate(s=Sum("amount_usd"))["s"] or ZERO


def spent(rows, since: datetime | None) -> Decimal:
    if since is not None:
        rows = rows.filter(hour__gte=since)
    return rows.aggregate(s=Sum("cost_usd"))["s"] or ZERO


def check_project(caps: Caps, amount: Decimal, starts: dict, release_expired) -> None:
    project_rows = UsageRollup.objects.filter(project_id=caps.project_id)
    held = in_flight(Q(project_id=caps.project_id), release_expired)
    for period, budget in (("monthly", caps.project_monthly), ("daily", caps.project_daily)):
        if budget is None:
            continue
        used = spent(project_rows, starts[period])
        if used + held + amount > budget:
            raise BillingError(
                f"This project's {period} budget of {format_cost(budget)} would be exceeded "
                f"(spent {format_cost(used)}, {format_cost(held)} in flight).",
                "project_budget_exceeded",
            )
    if caps.member_cap is None or caps.member_id is None:
        return
    # A member's own spend in the project; their service accounts' keys are the project's.
    member_rows = project_rows.filter(user_id=caps.member_id).exclude(
        api_key__kind=ApiKey.Kind.SERVICE_ACCOUNT
    )
    used = spent(member_rows, starts["monthly"])
    held = in_flight(Q(project_id=caps.project_id, member_id=caps.member_id), release_expired)
    if used + held + amount > caps.member_cap:
        raise BillingError(
            f"Your monthly cap of {format_cost(caps.member_cap)} in this project would be "
            f"exceeded (spent {format_cost(used)}, {format_cost(held)} in flight).",
            "member_cap_exceeded",
        )


def check_key_budgets(
    api_key_id: int,
    amount: Decimal,
    budgets: dict[str, Decimal],
    starts: dict,
    release_expired,
) -> None:
    # One key's reservations queue here so two requests cannot both fit the last cents.
    ApiKey.objects.select_for_update().filter(pk=api_key_id).first()
    held = in_flight(Q(api_key_id=api_key_id), release_expired)
    key_rows = UsageRollup.objects.filter(api_key_id=api_key_id)
    for period, budget in budgets.items():
        used = spent(key_rows, starts[period])
        if used + held + amount > budget:
            raise BillingError(
                f"This API key's {period} budget of {format_cost(budget)} would be exceeded "
                f"(spent {format_cost(used)}, {format_cost(held)} in flight).",
                "key_budget_exceeded",
            )
