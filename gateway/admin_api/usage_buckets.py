"""The Admin API's usage and costs: an organization's usage records in time buckets
(``1m``, ``1h``, ``1d``, aligned to UTC), optionally grouped by project, user, key and
model, as OpenAI's ``/organization/usage/*`` and ``/organization/costs`` answer.

A record belongs to the organization of the key that made it (``api_key → project``);
records made without a key (the playground, portal pages) belong to their person's
personal organization. Amounts stay exact: ``amount.value`` is OpenAI's number, and
``amount.value_usd`` the exact decimal string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncHour, TruncMinute
from django.http import HttpRequest

from accounts.models import Organization
from accounts.org_rules import OrgError, key_pk, key_public_id, user_pk, user_public_id
from ground.money import plain
from ground.text import strict_int
from usage.models import UsageRecord

WIDTHS = {
    "1m": (timedelta(minutes=1), TruncMinute, 60, 1440),
    "1h": (timedelta(hours=1), TruncHour, 24, 168),
    "1d": (timedelta(days=1), TruncDay, 7, 31),
}
GROUPS = {
    "project_id": "api_key__project__public_id",
    "user_id": "user_id",
    "api_key_id": "api_key_id",
    "model": "model",
    "line_item": "model",
}
FILTERS = {"project_ids", "user_ids", "api_key_ids", "models"}
ENDPOINTS = {
    "completions": ("chat.completions", "responses"),
    "embeddings": ("embeddings",),
}
LARGEST_TIME = 253402300799  # 9999-12-31


@dataclass
class Options:
    start: datetime
    end: datetime
    width: str
    limit: int
    group_by: list[str]
    filters: dict[str, list[str]] = field(default_factory=dict)


def values(request: HttpRequest, name: str) -> list[str]:
    found = request.GET.getlist(name + "[]") + request.GET.getlist(name)
    if len(found) > 100 or any(len(value) > 200 for value in found):
        raise OrgError(f"Invalid '{name}': at most 100 values.", param=name)
    return found


def seconds(request: HttpRequest, name: str, default: int | None = None) -> int:
    raw = request.GET.get(name)
    if raw is None:
        if default is None:
            raise OrgError(f"Missing required parameter: '{name}'.", param=name)
        return default
    value = strict_int(raw)
    if value is None or not 0 <= value <= LARGEST_TIME:
        raise OrgError(f"Invalid '{name}': Unix seconds written with the digits 0-9.", param=name)
    return value


def read_options(request: HttpRequest, *, groups: set[str], widths: set[str]) -> Options:
    width = request.GET.get("bucket_width") or "1d"
    if width not in widths:
        raise OrgError(
            f"Invalid 'bucket_width': one of {', '.join(sorted(widths))}.", param="bucket_width"
        )
    step, _, default_limit, max_limit = WIDTHS[width]
    start = seconds(request, "start_time")
    page = request.GET.get("page")
    if page:  # the next bucket's start, from the previous answer's next_page
        start = seconds(request, "page")
    now = int(datetime.now(tz=UTC).timestamp()) + 1  # this second's records included
    end = seconds(request, "end_time", default=now)
    if end <= start and not page:
        raise OrgError("Invalid 'end_time': it must be after 'start_time'.", param="end_time")
    raw_limit = request.GET.get("limit")
    limit = strict_int(raw_limit) if raw_limit is not None else default_limit
    if limit is None or not 1 <= limit <= max_limit:
        raise OrgError(f"Invalid 'limit': 1 to {max_limit} for {width} buckets.", param="limit")
    group_by = values(request, "group_by")
    unknown = [g for g in group_by if g not in groups]
    if unknown:
        raise OrgError(
            f"Invalid 'group_by': {unknown[0][:40]!r}; one of {', '.join(sorted(groups))}.",
            param="group_by",
        )
    aligned = datetime.fromtimestamp(start - start % int(step.total_seconds()), tz=UTC)
    return Options(
        start=aligned,
        end=datetime.fromtimestamp(end, tz=UTC),
        width=width,
        limit=limit,
        group_by=list(dict.fromkeys(group_by)),
        filters={name: values(request, name) for name in FILTERS},
    )


def records_of(organization: Organization) -> QuerySet[UsageRecord]:
    mine = Q(api_key__organization=organization)
    if organization.personal_for_id:
        mine |= Q(api_key__isnull=True, user_id=organization.personal_for_id)
    return UsageRecord.objects.filter(mine)


def narrowed(found: QuerySet, filters: dict[str, list[str]]) -> QuerySet:
    if filters.get("project_ids"):
        found = found.filter(api_key__project__public_id__in=filters["project_ids"])
    if filters.get("user_ids"):
        found = found.filter(user_id__in=[user_pk(u) for u in filters["user_ids"]])
    if filters.get("api_key_ids"):
        found = found.filter(api_key_id__in=[key_pk(k) for k in filters["api_key_ids"]])
    if filters.get("models"):
        found = found.filter(model__in=filters["models"])
    return found


def buckets(organization: Organization, options: Options, kind: str) -> dict:
    """OpenAI's page of buckets: ``kind`` is ``completions``, ``embeddings`` or ``costs``."""
    step, trunc, _, _ = WIDTHS[options.width]
    starts = []
    moment = options.start
    while moment < options.end and len(starts) < options.limit:
        starts.append(moment)
        moment += step
    last = starts[-1] + step if starts else options.start
    found = narrowed(records_of(organization), options.filters).filter(
        created_at__gte=options.start, created_at__lt=min(last, options.end)
    )
    if kind != "costs":
        found = found.filter(endpoint__in=ENDPOINTS[kind], status=UsageRecord.Status.OK)
    columns = [GROUPS[g] for g in options.group_by]
    rows = (
        found.annotate(bucket=trunc("created_at", tzinfo=UTC))
        .values("bucket", *columns)
        .annotate(
            requests=Count("id"),
            input_tokens=Sum("prompt_tokens"),
            output_tokens=Sum("completion_tokens"),
            cached=Sum("cached_tokens"),
            cost=Sum("cost_usd"),
        )
        .order_by("bucket", *columns)
    )
    results: dict[datetime, list[dict]] = {start: [] for start in starts}
    for row in rows:
        results.setdefault(row["bucket"].astimezone(UTC), []).append(result(row, options, kind))
    data = [
        {
            "object": "bucket",
            "start_time": int(start.timestamp()),
            "end_time": int((start + step).timestamp()),
            "results": results[start],
        }
        for start in starts
    ]
    more = moment < options.end
    return {
        "object": "page",
        "data": data,
        "has_more": more,
        "next_page": str(int(moment.timestamp())) if more else None,
    }


def result(row: dict, options: Options, kind: str) -> dict:
    grouped = {}
    for name in options.group_by:
        value = row[GROUPS[name]]
        if name == "user_id" and value is not None:
            value = user_public_id(value)
        elif name == "api_key_id" and value is not None:
            value = key_public_id(value)
        grouped[name] = value
    if kind == "costs":
        cost = row["cost"] or 0
        return {
            "object": "organization.costs.result",
            "amount": {"value": float(cost), "currency": "usd", "value_usd": plain(cost)},
            **grouped,
        }
    shaped = {
        "object": f"organization.usage.{kind}.result",
        "input_tokens": row["input_tokens"] or 0,
        "num_model_requests": row["requests"],
        **grouped,
    }
    if kind == "completions":
        shaped["output_tokens"] = row["output_tokens"] or 0
        shaped["input_cached_tokens"] = row["cached"] or 0
    return shaped
