"""The staff overview: traffic, spend, failures, provider health, queues and wallets.

No query reads the raw usage history. Traffic and the top lists come from the hourly
``UsageRollup`` rows of the last 30 days (two grouped scans, cached for
``CACHE_SECONDS``), provider health from the last 24 hours of ``LatencyRollup``, recent
failures from a window of the newest usage records walked by primary key, queue depths
from the unfinished jobs and documents only (the jobs' ``(status, id)`` index), parked
events and unpaid wallets from small tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import Count, Min, Q, Sum
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiKey, User
from billing.models import Wallet
from catalog.models import LatencyRollup, Provider
from catalog.snapshots import get_catalog_sync
from catalog.stats import summarize
from gateway.routing import cooldowns
from ground.charts import chart_data
from ground.money import usd_html
from ocr.models import OcrJob
from retrieval.models import Document
from usage.errors import explain
from usage.models import DeadUsageEvent, UsageRecord, UsageRollup
from usage.queries import SUMS, Totals, day_start

DAYS = 30
HOURS = 24
TOP = 10
RECENT_FAILURES = 20
# Recent failures are looked for among this many newest records (a primary-key range):
# the cost stays flat however large the table grows, and failures older than that are
# on the admin's usage records list.
FAILURE_WINDOW = 50_000
CACHE_SECONDS = 30


@dataclass
class Traffic:
    hours: list[tuple[datetime, Totals]]
    days: list[tuple[datetime, Totals]]
    last_24h: Totals = field(default_factory=Totals)
    last_30d: Totals = field(default_factory=Totals)

    def charts(self) -> dict[str, dict]:
        hourly = [(at.strftime("%H:00"), t) for at, t in self.hours]
        daily = [(at.strftime("%d %b"), t) for at, t in self.days]
        return {
            "spend_hourly": spend_chart("Spend per hour, last 24 hours (UTC)", hourly, "Hour"),
            "requests_hourly": requests_chart(
                "Requests per hour, last 24 hours (UTC)", hourly, "Hour"
            ),
            "spend_daily": spend_chart("Spend per day, last 30 days", daily, "Day"),
            "requests_daily": requests_chart("Requests per day, last 30 days", daily, "Day"),
        }


def spend_chart(title: str, points: list[tuple[str, Totals]], x_label: str) -> dict:
    return chart_data(
        title, [label for label, _ in points], [("Spend", [t.cost for _, t in points])], "usd",
        x_label=x_label,
    )  # fmt: skip


def requests_chart(title: str, points: list[tuple[str, Totals]], x_label: str) -> dict:
    return chart_data(
        title,
        [label for label, _ in points],
        [
            ("Succeeded", [t.requests - t.errors for _, t in points]),
            ("Failed", [t.errors for _, t in points]),
        ],
        "requests",
        stacked=True,
        x_label=x_label,
    )


def error_rate(totals: Totals) -> str:
    return f"{totals.errors * 100 / totals.requests:.1f} %" if totals.requests else "—"


def traffic(now: datetime) -> Traffic:
    """Hourly totals over 30 days in one grouped query; days and the last 24 h from them."""
    this_hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first_day = day_start(this_hour.date() - timedelta(days=DAYS - 1))
    by_hour = {
        row["hour"].astimezone(UTC): Totals.of(row)
        for row in UsageRollup.objects.filter(hour__gte=first_day)
        .values("hour")
        .annotate(**SUMS)
        .order_by()
    }
    hours = [this_hour - timedelta(hours=n) for n in range(HOURS - 1, -1, -1)]
    result = Traffic(
        hours=[(at, by_hour.get(at, Totals())) for at in hours],
        days=[(first_day + timedelta(days=n), Totals()) for n in range(DAYS)],
    )
    day_totals = {at: totals for at, totals in result.days}
    for at, totals in by_hour.items():
        day_totals[day_start(at.date())].add(totals)
        result.last_30d.add(totals)
        if at >= hours[0]:
            result.last_24h.add(totals)
    return result


@dataclass
class TopRow:
    label: str
    detail: str
    totals: Totals
    url: str


TOP_SUMS = {name: SUMS[name] for name in ("requests", "errors", "cost")}


def top_spenders(since: datetime) -> dict[str, list[TopRow]]:
    """The users, keys and models that spent most since ``since``.

    One grouped scan of the window's rollups by user × key × model (a few thousand groups
    at most) is summed three ways here: one pass over the rows instead of three.
    """
    by: dict[str, dict] = {"user_id": {}, "api_key_id": {}, "model": {}}
    grouped = (
        UsageRollup.objects.filter(hour__gte=since)
        .values("user_id", "api_key_id", "model")
        .annotate(**TOP_SUMS)
        .order_by()
    )
    for row in grouped:
        totals = Totals.of(row)
        for dimension, sums in by.items():
            if row[dimension] is not None:
                sums.setdefault(row[dimension], Totals()).add(totals)

    def top(dimension: str) -> list[dict]:
        ranked = sorted(by[dimension].items(), key=lambda item: (-item[1].cost, -item[1].requests))
        return [{dimension: value, "totals": totals} for value, totals in ranked[:TOP]]

    users_rows, keys_rows, models_rows = top("user_id"), top("api_key_id"), top("model")
    emails = dict(
        User.objects.filter(pk__in=[r["user_id"] for r in users_rows]).values_list("pk", "email")
    )
    keys = {
        key["pk"]: key
        for key in ApiKey.objects.filter(pk__in=[r["api_key_id"] for r in keys_rows]).values(
            "pk", "name", "prefix", "owner__email"
        )
    }
    return {
        "users": [
            TopRow(
                emails.get(r["user_id"], f"user {r['user_id']}"),
                "",
                r["totals"],
                reverse("admin:accounts_user_change", args=[r["user_id"]]),
            )
            for r in users_rows
        ],
        "keys": [
            TopRow(
                keys[r["api_key_id"]]["name"] if r["api_key_id"] in keys else "deleted key",
                f"{keys[r['api_key_id']]['prefix']}… · {keys[r['api_key_id']]['owner__email']}"
                if r["api_key_id"] in keys
                else "",
                r["totals"],
                reverse("admin:accounts_apikey_change", args=[r["api_key_id"]]),
            )
            for r in keys_rows
        ],
        "models": [
            TopRow(
                r["model"],
                "",
                r["totals"],
                reverse("admin:usage_usagerecord_changelist")
                + "?"
                + urlencode({"model": r["model"]}),
            )
            for r in models_rows
        ],
    }


@dataclass
class ProviderHealth:
    name: str
    enabled: bool | None  # None: seen in traffic but no longer in the catalog
    stats: dict
    cooling: list[tuple[str, int]]  # (model → upstream, seconds left)

    @property
    def error_rate_display(self) -> str:
        rate = self.stats.get("error_rate")
        return "—" if rate is None else f"{rate * 100:.1f} %"

    @property
    def state(self) -> str:
        if self.enabled is False:
            return "disabled"
        if self.cooling:
            return "cooling down"
        rate = self.stats.get("error_rate")
        if rate is not None and rate >= 0.2:
            return "failing"
        if not self.stats.get("sample_size"):
            return "idle"
        return "healthy"


def provider_health(now: datetime) -> list[ProviderHealth]:
    """Error rate and latency per provider over 24 h, with this process's cool-downs."""
    since = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(
        hours=HOURS - 1
    )
    rows: dict[str, list[LatencyRollup]] = {}
    for row in LatencyRollup.objects.filter(hour__gte=since):
        rows.setdefault(row.provider, []).append(row)
    enabled = dict(Provider.objects.values_list("name", "enabled"))
    cooling: dict[str, list[tuple[str, int]]] = {}
    left = cooldowns()
    if left:
        for model in get_catalog_sync().models.values():
            for deployment in model.deployments:
                if deployment.id in left:
                    cooling.setdefault(deployment.provider.name, []).append(
                        (f"{model.public_id} → {deployment.upstream_model}",
                         max(1, round(left[deployment.id])))
                    )  # fmt: skip
    names = sorted(set(enabled) | set(rows))
    return [
        ProviderHealth(
            name=name,
            enabled=enabled.get(name),
            stats=summarize(rows.get(name, []), f"{HOURS}h"),
            cooling=cooling.get(name, []),
        )
        for name in names
    ]


@dataclass
class Failure:
    record: UsageRecord
    message: str


def recent_failures() -> list[Failure]:
    """The newest failed or cancelled requests among the last ``FAILURE_WINDOW`` records."""
    newest = UsageRecord.objects.order_by("-pk").values_list("pk", flat=True).first()
    if newest is None:
        return []
    records = (
        UsageRecord.objects.filter(pk__gt=newest - FAILURE_WINDOW)
        .exclude(status=UsageRecord.Status.OK)
        .select_related("user")
        .order_by("-pk")[:RECENT_FAILURES]
    )
    return [Failure(r, explain(r.error_code, r.http_status)) for r in records]


@dataclass
class Queue:
    name: str
    queued: int
    processing: int
    oldest: datetime | None
    pending_pages: int | None = None

    @property
    def oldest_age(self) -> timedelta | None:
        return timezone.now() - self.oldest if self.oldest else None


def ocr_queue() -> Queue:
    # ``(status, id)`` index: the unfinished jobs are read, never the finished history.
    active = OcrJob.objects.filter(status__in=(OcrJob.Status.QUEUED, OcrJob.Status.PROCESSING))
    counts = dict(active.values_list("status").annotate(n=Count("pk")).order_by())
    oldest = active.order_by("pk").values_list("created_at", flat=True).first()
    totals = active.aggregate(pages=Sum("total_pages"), done=Sum("pages_done"))
    return Queue(
        name="OCR jobs",
        queued=counts.get(OcrJob.Status.QUEUED, 0),
        processing=counts.get(OcrJob.Status.PROCESSING, 0),
        oldest=oldest,
        pending_pages=(totals["pages"] or 0) - (totals["done"] or 0),
    )


def retrieval_queue() -> Queue:
    active = Document.objects.filter(
        status__in=(Document.Status.QUEUED, Document.Status.PROCESSING)
    )
    counts = active.aggregate(
        queued=Count("pk", filter=Q(status=Document.Status.QUEUED)),
        processing=Count("pk", filter=Q(status=Document.Status.PROCESSING)),
        oldest=Min("created_at"),
    )
    return Queue(
        name="Retrieval documents",
        queued=counts["queued"],
        processing=counts["processing"],
        oldest=counts["oldest"],
    )


@dataclass
class Parked:
    count: int
    newest: list[DeadUsageEvent]


def parked_events() -> Parked:
    newest = list(DeadUsageEvent.objects.order_by("-pk").only("pk", "request_id", "error",
                                                             "created_at")[:5])  # fmt: skip
    return Parked(count=DeadUsageEvent.objects.count() if newest else 0, newest=newest)


@dataclass
class Unpaid:
    count: int
    total: Decimal
    wallets: list[Wallet]


def unpaid_wallets() -> Unpaid:
    unpaid = Wallet.objects.filter(unpaid_usd__gt=0)
    summary = unpaid.aggregate(n=Count("pk"), total=Sum("unpaid_usd"))
    wallets = (
        list(unpaid.select_related("organization__personal_for").order_by("-unpaid_usd")[:TOP])
        if summary["n"]
        else []
    )
    return Unpaid(count=summary["n"], total=summary["total"] or Decimal(0), wallets=wallets)


def rollup_figures(now: datetime) -> tuple[Traffic, dict[str, list[TopRow]]]:
    """Traffic and top spenders: the two scans of 30 days of rollups, kept briefly.

    They are the page's only reads that grow with traffic (with the number of hourly
    rollup rows in the window), so a staff member refreshing the page, or several
    looking at once, pays for them once per ``CACHE_SECONDS``.
    """
    key = f"admin-overview:{now.astimezone(UTC):%Y%m%d%H}"
    figures = cache.get(key)
    if figures is None:
        flow = traffic(now)
        figures = (flow, top_spenders(flow.days[0][0]))
        cache.set(key, figures, CACHE_SECONDS)
    return figures


def overview(now: datetime | None = None) -> dict:
    """Everything the staff overview page shows."""
    now = now or timezone.now()
    flow, top = rollup_figures(now)
    unpaid = unpaid_wallets()
    for wallet in unpaid.wallets:
        wallet.unpaid_display = usd_html(wallet.unpaid_usd)
        wallet.balance_display = usd_html(wallet.balance_usd)
    return {
        "now": now,
        "traffic": flow,
        "charts": flow.charts(),
        "error_rate_24h": error_rate(flow.last_24h),
        "error_rate_30d": error_rate(flow.last_30d),
        "top_tables": [
            ("Users", top["users"], "top-users", "No requests in the last 30 days."),
            ("Keys", top["keys"], "top-keys", "No requests through API keys in the last 30 days."),
            ("Models", top["models"], "top-models", "No requests in the last 30 days."),
        ],
        "providers": provider_health(now),
        "failures": recent_failures(),
        "failure_window": FAILURE_WINDOW,
        "queues": [ocr_queue(), retrieval_queue()],
        "parked": parked_events(),
        "unpaid": unpaid,
        "unpaid_total": usd_html(unpaid.total),
        "unpaid_rows": unpaid.wallets,
    }
