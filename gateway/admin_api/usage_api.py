"""``/v1/organization/usage/completions``, ``…/usage/embeddings`` and ``…/costs``: an
organization's usage and spend in time buckets (``gateway.admin_api.usage_buckets``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from accounts.org_keys import ADMIN_SCOPE
from gateway.admin_api.common import run
from gateway.admin_api.schemas import OrganizationUsagePage
from gateway.admin_api.usage_buckets import buckets, read_options
from gateway.admission import Call, v1

router = Router(tags=["Admin API"])
USAGE_GROUPS = {"project_id", "user_id", "api_key_id", "model"}
COST_GROUPS = {"project_id", "user_id", "api_key_id", "line_item"}
ARRAYS = ("group_by", "project_ids", "user_ids", "api_key_ids", "models")


def query(*, widths: str) -> dict:
    scalar = [
        ("start_time", "integer", True),
        ("end_time", "integer", False),
        ("limit", "integer", False),
        ("page", "string", False),
    ]
    parameters = [
        {"in": "query", "name": name, "required": required, "schema": {"type": kind}}
        for name, kind, required in scalar
    ]
    parameters.append(
        {
            "in": "query",
            "name": "bucket_width",
            "required": False,
            "schema": {"type": "string", "enum": widths.split()},
        }
    )
    parameters += [
        {"in": "query", "name": f"{name}[]", "required": False, "schema": {"type": "string"}}
        for name in ARRAYS
    ]
    return {"parameters": parameters}


def usage(request: HttpRequest, call: Call, kind: str):
    def answer(actor, organization) -> dict:
        options = read_options(request, groups=USAGE_GROUPS, widths={"1m", "1h", "1d"})
        return buckets(organization, options, kind)

    return run(request, call, answer)


@router.get(
    "/organization/usage/completions",
    response=OrganizationUsagePage,
    openapi_extra=query(widths="1m 1h 1d"),
    summary="Chat and responses usage in time buckets",
)
@v1(ADMIN_SCOPE)
async def usage_completions(request: HttpRequest, call: Call) -> HttpResponse:
    return await usage(request, call, "completions")


@router.get(
    "/organization/usage/embeddings",
    response=OrganizationUsagePage,
    openapi_extra=query(widths="1m 1h 1d"),
    summary="Embeddings usage in time buckets",
)
@v1(ADMIN_SCOPE)
async def usage_embeddings(request: HttpRequest, call: Call) -> HttpResponse:
    return await usage(request, call, "embeddings")


@router.get(
    "/organization/costs",
    response=OrganizationUsagePage,
    openapi_extra=query(widths="1d"),
    summary="Spend per day (exact USD in amount.value_usd)",
)
@v1(ADMIN_SCOPE)
async def list_costs(request: HttpRequest, call: Call) -> HttpResponse:
    def answer(actor, organization) -> dict:
        options = read_options(request, groups=COST_GROUPS, widths={"1d"})
        return buckets(organization, options, "costs")

    return await run(request, call, answer)
