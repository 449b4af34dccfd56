"""``/v1/organization/audit_logs``: the organization's audit log, newest first, with
OpenAI's filters — ``effective_at[gt|gte|lt|lte]`` (Unix seconds), ``project_ids[]``,
``event_types[]``, ``actor_ids[]``, ``actor_emails[]``, ``resource_ids[]`` — and
``after``/``before`` cursors (an entry's id)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from ninja import Router

from accounts import audit
from accounts.org_keys import ADMIN_SCOPE
from accounts.org_rules import OrgError
from gateway.admin_api import shapes
from gateway.admin_api.common import MAX_ID, run
from gateway.admin_api.schemas import AuditLogList
from gateway.admission import Call, v1
from ground.text import strict_int

router = Router(tags=["Admin API"])
FILTERS = ("project_ids", "event_types", "actor_ids", "actor_emails", "resource_ids")
OPERATORS = ("gt", "gte", "lt", "lte")
MAX_VALUES = 100
LARGEST_TIME = 253402300799  # 9999-12-31


def listed(request: HttpRequest, name: str) -> list[str]:
    values = request.GET.getlist(name + "[]") + request.GET.getlist(name)
    if len(values) > MAX_VALUES or any(len(v) > 254 or "\x00" in v for v in values):
        raise OrgError(
            f"Invalid '{name}': at most {MAX_VALUES} values of 254 characters.", param=name
        )
    return values


def moments(request: HttpRequest) -> dict[str, datetime]:
    found = {}
    for operator in OPERATORS:
        raw = request.GET.get(f"effective_at[{operator}]")
        if raw is None:
            continue
        seconds = strict_int(raw)
        if seconds is None or not 0 <= seconds <= LARGEST_TIME:
            raise OrgError(
                f"Invalid 'effective_at[{operator}]': Unix seconds written with the digits 0-9.",
                param=f"effective_at[{operator}]",
            )
        found[operator] = datetime.fromtimestamp(seconds, tz=UTC)
    return found


def limit_of(request: HttpRequest) -> int:
    raw = request.GET.get("limit")
    if raw is None:
        return 20
    value = strict_int(raw)
    if value is None or not 1 <= value <= 100:
        raise OrgError("Invalid 'limit': a whole number from 1 to 100.", param="limit")
    return value


def audit_page(request: HttpRequest, organization) -> dict:
    found = audit.entries(
        organization,
        effective_at=moments(request),
        **{name: listed(request, name) for name in FILTERS},
    )
    size = limit_of(request)
    for cursor, older in (("after", True), ("before", False)):
        public_id = request.GET.get(cursor)
        if not public_id:
            continue
        mark = found.filter(public_id=public_id[:MAX_ID]).first()
        if mark is None:
            raise OrgError(
                f"Invalid '{cursor}': no audit log entry '{public_id[:60]}'.", param=cursor
            )
        at, pk = mark.effective_at, mark.pk
        if older:
            found = found.filter(Q(effective_at__lt=at) | Q(effective_at=at, pk__lt=pk))
        else:
            found = found.filter(Q(effective_at__gt=at) | Q(effective_at=at, pk__gt=pk))
    entries = list(found[: size + 1])
    data = [shapes.audit_entry(entry) for entry in entries[:size]]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(entries) > size,
    }


QUERY = {
    "parameters": [
        {"in": "query", "name": name, "required": False, "schema": {"type": "string"}}
        for name in ("after", "before", "limit", *(f"{f}[]" for f in FILTERS))
    ]
    + [
        {
            "in": "query",
            "name": f"effective_at[{op}]",
            "required": False,
            "schema": {"type": "integer"},
        }
        for op in OPERATORS
    ]
}


@router.get(
    "/organization/audit_logs",
    response=AuditLogList,
    openapi_extra=QUERY,
    summary="The organization's audit log",
)
@v1(ADMIN_SCOPE)
async def list_audit_logs(request: HttpRequest, call: Call) -> HttpResponse:
    return await run(request, call, lambda actor, org: audit_page(request, org))
