"""``GET /v1/usage``: the caller's usage records, newest first, with an ``after`` cursor.

Read-your-writes without a write: a request that just finished may not be drained yet
(the worker does that every second). The caller's own pending events are read where
they wait (``usage.drain.pending_events``) and listed first, with ids ``usage_pending_…``.
"""

from __future__ import annotations

from accounts.models import Organization, Project
from ground.errors import ApiError
from ground.text import clean_text, strict_int
from usage.drain import pending_events, usage_record_from
from usage.models import UsageRecord

ID_PREFIX = "usage_"
PENDING_PREFIX = "usage_pending_"


def public_id(record: UsageRecord) -> str:
    return f"{ID_PREFIX}{record.pk}" if record.pk else f"{PENDING_PREFIX}{record.request_id}"


def parse_cursor(after: str) -> tuple[int | None, bool]:
    """(records older than this id, whether pending records come first)."""
    if not after:
        return None, True
    if after.startswith(PENDING_PREFIX):
        return None, False  # the page after pending records starts with the drained ones
    number = strict_int(after.removeprefix(ID_PREFIX))
    if number is None or number < 0:
        shown = clean_text(after, 80)
        raise ApiError(
            400,
            f"'after' must be a usage record id like 'usage_123', got {shown!r}.",
            param="after",
            code="invalid_parameter",
        )
    return number, False


def usage_item(record: UsageRecord, names: dict[str, dict[int, str]]) -> dict:
    return {
        "id": public_id(record),
        "object": "usage_record",
        "model": record.model,
        "source": record.source,
        "input_tokens": record.prompt_tokens,
        "output_tokens": record.completion_tokens,
        "total_tokens": record.total_tokens,
        "created_at": int(record.created_at.timestamp()),
        "cost_usd": float(record.cost_usd),
        "cost_usd_exact": str(record.cost_usd.normalize()) if record.cost_usd else "0",
        "request_id": record.request_id,
        "endpoint": record.endpoint,
        "provider": record.provider,
        "status": record.status,
        "http_status": record.http_status,
        "stream": record.stream,
        "cached_tokens": record.cached_tokens,
        "tokens_reported": record.tokens_reported,
        "latency_ms": record.latency_ms,
        "ttft_ms": record.ttft_ms,
        "organization": names["organization"].get(record.organization_id),
        "project": names["project"].get(record.project_id),
    }


def public_ids(org_ids: set, project_ids: set) -> dict[str, dict[int, str]]:
    """Public ids of the organizations and projects a page names (two small queries)."""
    orgs = Organization.objects.filter(pk__in=org_ids - {None})
    projects = Project.objects.filter(pk__in=project_ids - {None})
    return {
        "organization": dict(orgs.values_list("pk", "public_id")) if org_ids - {None} else {},
        "project": dict(projects.values_list("pk", "public_id")) if project_ids - {None} else {},
    }


def pending_records(user_id: int, model: str = "") -> list[UsageRecord]:
    """The user's finished requests not drained yet, as unsaved records, newest first."""
    return [
        usage_record_from(event)
        for event in pending_events(user_id)
        if not model or event.model == model
    ]


def usage_page(
    user_id: int,
    *,
    model: str = "",
    limit: int = 20,
    after: str = "",
    place: tuple[int | None, int | None] = (None, None),
) -> dict:
    """One page of the user's usage records; ``place`` is the caller's (organization,
    project), named in the answer."""
    cursor, with_pending = parse_cursor(after)
    model = clean_text(model, 200)
    records = UsageRecord.objects.filter(user_id=user_id)
    if model:
        records = records.filter(model=model)
    if cursor is not None:
        records = records.filter(pk__lt=cursor)
    rows = list(records.order_by("-pk")[: limit + 1])
    if with_pending:
        drained = {r.request_id for r in rows}
        pending = [r for r in pending_records(user_id, model) if r.request_id not in drained]
        rows = pending + rows
    shown = rows[:limit]
    names = public_ids(
        {r.organization_id for r in shown} | {place[0]}, {r.project_id for r in shown} | {place[1]}
    )
    return {
        "object": "list",
        "data": [usage_item(r, names) for r in shown],
        "has_more": len(rows) > limit,
        "organization": names["organization"].get(place[0]),
        "project": names["project"].get(place[1]),
    }
