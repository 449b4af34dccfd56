"""The queries behind the Usage page and the dashboard.

Totals and charts come from ``UsageRollup`` (hourly per user × key × model × source), never
from raw ``UsageRecord`` rows, so they cost the same with ten rows or ten million. Date
ranges are whole UTC days, so they line up exactly with the hourly rollups: the totals for
a range equal the sums over the records of that range. Records are listed (and exported)
newest first by ``created_at`` then id, through the ``(user, created_at)`` index.

Rollups have no status dimension (only an ``errors`` count). Totals and charts therefore
ignore the status filter, and the page says so; the status filter applies to the table of
records and to the CSV export, which read ``UsageRecord`` through its ``(user, -id)`` and
``(user, model, -id)`` indexes.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDay
from django.utils import timezone

from ground.charts import chart_data
from ground.money import plain, usd_html
from usage.models import UsageRecord, UsageRollup

PAGE_SIZE = 50
MAX_RANGE_DAYS = 366
HOURLY_UP_TO = timedelta(days=2)
EXPORT_CHUNK = 2000
ZERO = Decimal(0)

RANGE_PRESETS = {"today": 1, "7d": 7, "30d": 30}
SOURCES = ("api_key", "playground", "ocr", "alretrieval")


# --- Filters ---------------------------------------------------------------------------
@dataclass(frozen=True)
class UsageFilters:
    """What the page shows: ``[start, end)`` in UTC plus optional dimensions."""

    start: datetime
    end: datetime
    preset: str = "7d"
    api_key_id: int | None = None
    model: str = ""
    source: str = ""
    status: str = ""

    @property
    def hourly(self) -> bool:
        return self.end - self.start <= HOURLY_UP_TO

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def date_range(
    preset: str, first: date | None, last: date | None, today: date
) -> tuple[datetime, datetime, str]:
    """``(start, end, preset)`` for a preset or a custom inclusive range of days."""
    if preset in RANGE_PRESETS:
        days = RANGE_PRESETS[preset]
        return day_start(today - timedelta(days=days - 1)), day_start(today + timedelta(1)), preset
    last = last or today
    first = first or last - timedelta(days=6)
    if first > last:
        first, last = last, first
    first = max(first, last - timedelta(days=MAX_RANGE_DAYS - 1))
    return day_start(first), day_start(last + timedelta(days=1)), "custom"


# --- Records ---------------------------------------------------------------------------
def records_query(user_id: int, filters: UsageFilters) -> QuerySet[UsageRecord]:
    records = UsageRecord.objects.filter(
        user_id=user_id, created_at__gte=filters.start, created_at__lt=filters.end
    )
    if filters.model:
        records = records.filter(model=filters.model)
    if filters.api_key_id is not None:
        records = records.filter(api_key_id=filters.api_key_id)
    if filters.source:
        records = records.filter(source=filters.source)
    if filters.status:
        records = records.filter(status=filters.status)
    return records


def matches(record: UsageRecord, filters: UsageFilters) -> bool:
    """``records_query``'s filter, for records not in the database yet (pending ones)."""
    return (
        filters.start <= record.created_at < filters.end
        and (not filters.model or record.model == filters.model)
        and (filters.api_key_id is None or record.api_key_id == filters.api_key_id)
        and (not filters.source or record.source == filters.source)
        and (not filters.status or record.status == filters.status)
    )


NEWEST_FIRST = ("-created_at", "-pk")


def record_page(
    user_id: int, filters: UsageFilters, after: int | None = None, size: int = PAGE_SIZE
) -> tuple[list[UsageRecord], int | None]:
    """One page of records, newest first, and the cursor for the next page (or None).

    Newest first is by time, then id: the ``(user, created_at)`` index serves both the date
    range and the order, so a page costs a short index scan wherever the range lies (by id
    alone, PostgreSQL walks the primary key back through every newer row: seconds for a
    range months ago). The cursor stays the id of the last record shown.
    """
    records = records_query(user_id, filters)
    if after is not None:
        last = UsageRecord.objects.filter(user_id=user_id, pk=after).values("created_at").first()
        if last is not None:
            at = last["created_at"]
            records = records.filter(created_at__lte=at).filter(
                Q(created_at__lt=at) | Q(created_at=at, pk__lt=after)
            )
    rows = list(records.order_by(*NEWEST_FIRST)[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].pk if has_more else None)


EXPORT_COLUMNS = (
    ("created_at", "created_at"),
    ("request_id", "request_id"),
    ("model", "model"),
    ("source", "source"),
    ("api_key_id", "api_key_prefix"),
    ("endpoint", "endpoint"),
    ("provider", "provider"),
    ("upstream_model", "upstream_model"),
    ("stream", "stream"),
    ("prompt_tokens", "input_tokens"),
    ("completion_tokens", "output_tokens"),
    ("cached_tokens", "cached_tokens"),
    ("tokens_reported", "tokens_reported"),
    ("estimated_prompt_tokens", "estimated_input_tokens"),
    ("units", "units"),
    ("cost_usd", "cost_usd"),
    ("status", "status"),
    ("http_status", "http_status"),
    ("error_code", "error_code"),
    ("latency_ms", "latency_ms"),
    ("ttft_ms", "ttft_ms"),
    ("fallbacks", "fallbacks"),
)


class _Line:
    """A file-like object whose ``write`` hands the text back: csv.writer without a buffer."""

    def write(self, text: str) -> str:
        return text


def _safe_text(value: str) -> str:
    # Spreadsheets run cells that start like a formula; model ids can come from callers.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@") else value


def export_lines(
    user_id: int,
    filters: UsageFilters,
    key_prefixes: dict[int, str],
    rows_per_part: int = 500,
    key_names: dict[int, str] | None = None,
) -> Iterator[str]:
    """The CSV of the filtered records, newest first, a few hundred rows per yielded part.

    The records are read with ``.iterator(chunk_size=2000)`` (a server-side cursor on
    PostgreSQL), so memory stays flat however many rows the range holds.
    """
    writer = csv.writer(_Line())
    headers = [header for _, header in EXPORT_COLUMNS]
    names = [name for name, _ in EXPORT_COLUMNS]
    key_at = names.index("api_key_id")
    if key_names is not None:  # the key's name follows its prefix
        headers.insert(key_at + 1, "api_key_name")
    yield writer.writerow(headers)
    rows = (
        records_query(user_id, filters)
        .order_by(*NEWEST_FIRST)
        .values_list(*names)
        .iterator(chunk_size=EXPORT_CHUNK)
    )
    part: list[str] = []
    model_at = names.index("model")
    cost_at = names.index("cost_usd")
    created_at = names.index("created_at")
    # In a transaction, PostgreSQL's cursor streams; in autocommit Django declares it WITH
    # HOLD, which makes the server compute the whole range before the first row.
    with transaction.atomic():
        for row in rows:
            values = list(row)
            values[created_at] = values[created_at].astimezone(UTC).isoformat()
            values[model_at] = _safe_text(values[model_at])
            key_id = values[key_at]
            values[key_at] = key_prefixes.get(key_id, "") if key_id else ""
            values[cost_at] = plain(values[cost_at])  # a number a spreadsheet sums
            if key_names is not None:
                values.insert(key_at + 1, _safe_text(key_names.get(key_id, "")))
            part.append(writer.writerow(values))
            if len(part) >= rows_per_part:
                yield "".join(part)
                part = []
    if part:
        yield "".join(part)


# --- Totals and charts, from rollups ----------------------------------------------------
def rollups_query(user_id: int, filters: UsageFilters) -> QuerySet[UsageRollup]:
    rollups = UsageRollup.objects.filter(
        user_id=user_id, hour__gte=filters.start, hour__lt=filters.end
    )
    if filters.model:
        rollups = rollups.filter(model=filters.model)
    if filters.api_key_id is not None:
        rollups = rollups.filter(api_key_id=filters.api_key_id)
    if filters.source:
        rollups = rollups.filter(source=filters.source)
    return rollups


SUMS = {
    "requests": Sum("requests"),
    "errors": Sum("errors"),
    "prompt_tokens": Sum("prompt_tokens"),
    "completion_tokens": Sum("completion_tokens"),
    "units": Sum("units"),
    "cost": Sum("cost_usd"),
}


@dataclass
class Totals:
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    units: int = 0
    cost: Decimal = ZERO

    @classmethod
    def of(cls, row: dict) -> Totals:
        return cls(
            **{name: row.get(name) or cls.__dataclass_fields__[name].default for name in SUMS}
        )

    def add(self, other: Totals) -> None:
        for name in SUMS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def cost_display(self) -> str:
        return usd_html(self.cost)


@dataclass
class UsageSummary:
    totals: Totals
    buckets: list[tuple[datetime, Totals]]
    by_model: list[tuple[str, Totals]] = field(default_factory=list)

    def spend_chart(self, hourly: bool) -> dict:
        return chart_data(
            f"Spend per {'hour' if hourly else 'day'}",
            [bucket_label(at, hourly) for at, _ in self.buckets],
            [("Spend", [t.cost for _, t in self.buckets])],
            "usd",
            x_label="Hour (UTC)" if hourly else "Day",
        )

    def tokens_chart(self, hourly: bool) -> dict:
        return chart_data(
            f"Tokens per {'hour' if hourly else 'day'}",
            [bucket_label(at, hourly) for at, _ in self.buckets],
            [
                ("Input", [t.prompt_tokens for _, t in self.buckets]),
                ("Output", [t.completion_tokens for _, t in self.buckets]),
            ],
            "tokens",
            stacked=True,
            x_label="Hour (UTC)" if hourly else "Day",
        )


def bucket_label(at: datetime, hourly: bool) -> str:
    return at.strftime("%d %b %H:00") if hourly else at.strftime("%d %b")


def bucket_starts(start: datetime, end: datetime, hourly: bool, now: datetime) -> list[datetime]:
    """Every bucket from ``start`` up to the one holding ``now`` (no empty future)."""
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    stop = min(end, now)
    starts, at = [], start
    while at < stop or not starts:
        starts.append(at)
        at += step
    return starts


def worth_listing(model: str, totals: Totals, catalog: Collection[str] | None) -> bool:
    """Whether a model gets a row in the per-model lists (Spend by model, Top models): one
    the catalog has, or one that cost something (a model removed since). Calls to models
    that never existed (``nope/none``, answered 404, free) count in the totals only."""
    return catalog is None or model in catalog or totals.cost > 0


def usage_summary(
    user_id: int,
    filters: UsageFilters,
    now: datetime | None = None,
    catalog: Collection[str] | None = None,
) -> UsageSummary:
    """Totals, a series per hour or day, and spend per model (``worth_listing`` in
    ``catalog``): two grouped rollup queries."""
    now = now or timezone.now()
    rollups = rollups_query(user_id, filters)
    if filters.hourly:
        grouped = rollups.values("hour").annotate(**SUMS)
        by_bucket = {row["hour"]: Totals.of(row) for row in grouped}
    else:
        grouped = rollups.annotate(day=TruncDay("hour")).values("day").annotate(**SUMS)
        by_bucket = {row["day"]: Totals.of(row) for row in grouped}
    totals = Totals()
    for bucket_totals in by_bucket.values():
        totals.add(bucket_totals)
    buckets = [
        (at, by_bucket.get(at, Totals()))
        for at in bucket_starts(filters.start, filters.end, filters.hourly, now)
    ]
    per_model = [
        (row["model"], Totals.of(row))
        for row in rollups.values("model").annotate(**SUMS).order_by("-cost", "model")
    ]
    by_model = [(model, t) for model, t in per_model if worth_listing(model, t, catalog)]
    return UsageSummary(totals=totals, buckets=buckets, by_model=by_model)


# --- Dashboard ------------------------------------------------------------------------------
@dataclass
class DashboardSummary:
    today: Totals
    month: Totals
    days: list[tuple[date, Totals]]
    top_models: list[tuple[str, Totals]]

    def spend_chart(self) -> dict:
        return chart_data(
            f"Spend per day, last {len(self.days)} days",
            [day.strftime("%d %b") for day, _ in self.days],
            [("Spend", [t.cost for _, t in self.days])],
            "usd",
            x_label="Day",
        )

    @property
    def thirty_day_cost(self) -> Decimal:
        return sum((t.cost for _, t in self.days), ZERO)


def dashboard_summary(
    user_id: int,
    now: datetime | None = None,
    days: int = 30,
    catalog: Collection[str] | None = None,
) -> DashboardSummary:
    """Today, this month, the last ``days`` days and the top models (``worth_listing`` in
    ``catalog``), from one rollup query."""
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    first_day = today - timedelta(days=days - 1)
    month_start = today.replace(day=1)
    since = day_start(min(first_day, month_start))
    grouped = (
        UsageRollup.objects.filter(user_id=user_id, hour__gte=since)
        .annotate(day=TruncDay("hour"))
        .values("day", "model")
        .annotate(**SUMS)
    )
    by_day: dict[date, Totals] = {}
    month_models: dict[str, Totals] = {}
    today_totals, month_totals = Totals(), Totals()
    for row in grouped:
        day = row["day"].astimezone(UTC).date()
        totals = Totals.of(row)
        by_day.setdefault(day, Totals()).add(totals)
        if day >= month_start:
            month_totals.add(totals)
            month_models.setdefault(row["model"], Totals()).add(totals)
        if day == today:
            today_totals.add(totals)
    series = [
        (first_day + timedelta(days=n), by_day.get(first_day + timedelta(days=n), Totals()))
        for n in range(days)
    ]
    listed = [(m, t) for m, t in month_models.items() if worth_listing(m, t, catalog)]
    top = sorted(listed, key=lambda item: (-item[1].cost, -item[1].requests))
    return DashboardSummary(today=today_totals, month=month_totals, days=series, top_models=top[:5])
