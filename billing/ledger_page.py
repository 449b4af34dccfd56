"""A page of a wallet's ledger as the Wallet page shows it: newest first, by id cursor,
per-request usage charges summed per UTC day."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDay
from django.template.defaultfilters import pluralize

from billing.models import LedgerEntry
from ground.money import ZERO


@dataclass(frozen=True)
class UsageDay:
    """One UTC day's per-request usage charges of a wallet, summed (a ledger page line)."""

    pk: int  # the day's newest entry: where the line sits in the ledger and its cursor
    day: date
    requests: int
    amount_usd: Decimal
    balance_after_usd: Decimal
    created_at: datetime  # the newest charge of the day
    kind: str = LedgerEntry.Kind.USAGE
    request_id: str = ""

    @property
    def description(self) -> str:
        return f"Usage on {self.day:%Y-%m-%d} — {self.requests:,} request{pluralize(self.requests)}"

    @property
    def detail(self) -> str:  # as ``LedgerEntry.detail``: what the ledger page shows
        return self.description

    def get_kind_display(self) -> str:
        return LedgerEntry.Kind.USAGE.label


@dataclass(frozen=True)
class LedgerPage:
    entries: list[LedgerEntry | UsageDay]
    newer: int | None  # pass as ``after`` for the newer page
    older: int | None  # pass as ``before`` for the older page


def per_request_charges() -> Q:
    # Charges of collected unpaid usage carry no request id: they stay lines of their own.
    return Q(kind=LedgerEntry.Kind.USAGE) & ~Q(request_id="")


def ledger_page(
    organization_id: int, *, before: int | None = None, after: int | None = None, size: int = 25
) -> LedgerPage:
    """One page of a wallet's ledger, newest first, by id cursor (no COUNT on big ledgers).

    Per-request usage charges are summed per UTC day into one line (``UsageDay``), placed
    at the day's newest charge; credits and other entries are lines of their own. The
    grouping happens in the query: the ledger itself keeps one exact row per charge.
    """
    rows = LedgerEntry.objects.filter(wallet__organization_id=organization_id)
    singles = rows.exclude(per_request_charges()).select_related("actor")
    days = (
        rows.filter(per_request_charges())
        .annotate(day=TruncDay("created_at"))
        .values("day")
        .annotate(
            last=Max("pk"), last_at=Max("created_at"), requests=Count("pk"), total=Sum("amount_usd")
        )
    )
    if after is not None:
        lines = merge(
            list(singles.filter(pk__gt=after).order_by("pk")[: size + 1]),
            list(days.filter(last__gt=after).order_by("last")[: size + 1]),
            newest_first=False,
        )
        has_newer = len(lines) > size
        lines = lines[:size][::-1]
        has_older = bool(lines) and (
            singles.filter(pk__lt=lines[-1].pk).exists()
            or days.filter(last__lt=lines[-1].pk).exists()
        )
    else:
        if before is not None:
            singles, days = singles.filter(pk__lt=before), days.filter(last__lt=before)
        lines = merge(
            list(singles.order_by("-pk")[: size + 1]),
            list(days.order_by("-last")[: size + 1]),
            newest_first=True,
        )
        has_older = len(lines) > size
        lines = lines[:size]
        has_newer = before is not None and bool(lines)
    return LedgerPage(
        entries=with_day_balances(lines),
        newer=lines[0].pk if has_newer else None,
        older=lines[-1].pk if has_older else None,
    )


def merge(singles: list[LedgerEntry], days: list[dict], *, newest_first: bool) -> list:
    lines = singles + [
        UsageDay(
            pk=row["last"],
            day=row["day"].astimezone(UTC).date(),
            requests=row["requests"],
            amount_usd=row["total"],
            balance_after_usd=ZERO,  # filled in by with_day_balances for the lines shown
            created_at=row["last_at"],
        )
        for row in days
    ]
    return sorted(lines, key=lambda line: line.pk, reverse=newest_first)


def with_day_balances(lines: list) -> list:
    """A day's balance after is the balance after its newest charge."""
    last_ids = [line.pk for line in lines if isinstance(line, UsageDay)]
    balances = dict(
        LedgerEntry.objects.filter(pk__in=last_ids).values_list("pk", "balance_after_usd")
    )
    return [
        replace(line, balance_after_usd=balances[line.pk]) if isinstance(line, UsageDay) else line
        for line in lines
    ]
