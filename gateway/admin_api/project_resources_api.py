"""A project's service accounts, API keys and per-model rate limits, under
``/v1/organization/projects/{project_id}/…`` (OpenAI's Admin API)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from accounts import org_keys, projects, rate_limits, service_accounts
from accounts.org_keys import ADMIN_SCOPE
from accounts.org_rules import key_public_id
from gateway.admin_api import shapes
from gateway.admin_api.common import AdminListQuery, deleted, page, run
from gateway.admin_api.schemas import (
    ApiKeyList,
    ApiKeyObject,
    Deleted,
    RateLimitList,
    RateLimitModify,
    RateLimitObject,
    ServiceAccountCreate,
    ServiceAccountCreated,
    ServiceAccountList,
    ServiceAccountObject,
)
from gateway.admission import Call, v1
from ground.bodies import json_body, parse_json, parse_query, query_parameters

router = Router(tags=["Admin API"])
PROJECT = "/organization/projects/{project_id}"
ACCOUNTS = PROJECT + "/service_accounts"
KEYS = PROJECT + "/api_keys"
LIMITS = PROJECT + "/rate_limits"


# --- Service accounts ----------------------------------------------------------------------------
@router.post(
    ACCOUNTS,
    response=ServiceAccountCreated,
    openapi_extra=json_body(ServiceAccountCreate),
    summary="Create a service account (its key shown once)",
)
@v1(ADMIN_SCOPE)
async def create_service_account(request: HttpRequest, call: Call, project_id: str) -> HttpResponse:
    body = parse_json(request, ServiceAccountCreate)

    def create(actor, org) -> dict:
        account, issued = service_accounts.create_service_account(
            actor, org, project_id, body.name, body.expires_in_seconds
        )
        key = issued.key
        return {
            **shapes.service_account(account),
            "api_key": {
                "id": key_public_id(key.pk),
                "object": "organization.project.service_account.api_key",
                "name": key.name,
                "value": issued.secret,
                "created_at": shapes.ts(key.created_at),
                "expires_at": shapes.ts(key.expires_at),
            },
        }

    return await run(request, call, create)


@router.get(
    ACCOUNTS,
    response=ServiceAccountList,
    openapi_extra=query_parameters(AdminListQuery),
    summary="List a project's service accounts",
)
@v1(ADMIN_SCOPE)
async def list_service_accounts(request: HttpRequest, call: Call, project_id: str) -> HttpResponse:
    options = parse_query(request, AdminListQuery)
    return await run(
        request,
        call,
        lambda actor, org: page(
            service_accounts.list_service_accounts(projects.get_project(org, project_id)),
            shapes.service_account,
            after=options.after,
            limit=options.limit,
        ),
    )


@router.get(
    ACCOUNTS + "/{service_account_id}",
    response=ServiceAccountObject,
    summary="Retrieve a service account",
)
@v1(ADMIN_SCOPE)
async def retrieve_service_account(
    request: HttpRequest, call: Call, project_id: str, service_account_id: str
) -> HttpResponse:
    return await run(
        request,
        call,
        lambda actor, org: shapes.service_account(
            service_accounts.get_service_account(
                projects.get_project(org, project_id), service_account_id
            )
        ),
    )


@router.delete(
    ACCOUNTS + "/{service_account_id}", response=Deleted, summary="Delete a service account"
)
@v1(ADMIN_SCOPE)
async def delete_service_account(
    request: HttpRequest, call: Call, project_id: str, service_account_id: str
) -> HttpResponse:
    def remove(actor, org) -> dict:
        service_accounts.delete_service_account(actor, org, project_id, service_account_id)
        return deleted(service_account_id, "organization.project.service_account.deleted")

    return await run(request, call, remove)


# --- API keys ------------------------------------------------------------------------------------
@router.get(
    KEYS,
    response=ApiKeyList,
    openapi_extra=query_parameters(AdminListQuery),
    summary="List a project's keys",
)
@v1(ADMIN_SCOPE)
async def list_api_keys(request: HttpRequest, call: Call, project_id: str) -> HttpResponse:
    options = parse_query(request, AdminListQuery)
    return await run(
        request,
        call,
        lambda actor, org: page(
            org_keys.project_keys(projects.get_project(org, project_id)),
            shapes.project_api_key,
            after=options.after,
            limit=options.limit,
        ),
    )


@router.get(KEYS + "/{api_key_id}", response=ApiKeyObject, summary="Retrieve a project's key")
@v1(ADMIN_SCOPE)
async def retrieve_api_key(
    request: HttpRequest, call: Call, project_id: str, api_key_id: str
) -> HttpResponse:
    return await run(
        request,
        call,
        lambda actor, org: shapes.project_api_key(
            org_keys.get_project_key(projects.get_project(org, project_id), api_key_id)
        ),
    )


@router.delete(KEYS + "/{api_key_id}", response=Deleted, summary="Delete (revoke) a project's key")
@v1(ADMIN_SCOPE)
async def delete_api_key(
    request: HttpRequest, call: Call, project_id: str, api_key_id: str
) -> HttpResponse:
    def remove(actor, org) -> dict:
        org_keys.delete_project_key(actor, projects.get_project(org, project_id), api_key_id)
        return deleted(api_key_id, "organization.project.api_key.deleted")

    return await run(request, call, remove)


# --- Rate limits ---------------------------------------------------------------------------------
@router.get(
    LIMITS,
    response=RateLimitList,
    openapi_extra=query_parameters(AdminListQuery),
    summary="A project's per-model rate limits",
)
@v1(ADMIN_SCOPE)
async def list_rate_limits(request: HttpRequest, call: Call, project_id: str) -> HttpResponse:
    options = parse_query(request, AdminListQuery)
    return await run(
        request,
        call,
        lambda actor, org: page(
            rate_limits.list_rate_limits(projects.get_project(org, project_id)),
            shapes.rate_limit,
            after=options.after,
            limit=options.limit,
        ),
    )


@router.post(
    LIMITS + "/{rate_limit_id}",
    response=RateLimitObject,
    openapi_extra=json_body(RateLimitModify, required=False),
    summary="Set a project's limits for one model",
)
@v1(ADMIN_SCOPE)
async def modify_rate_limit(
    request: HttpRequest, call: Call, project_id: str, rate_limit_id: str
) -> HttpResponse:
    body = parse_json(request, RateLimitModify, required=False)
    changes = body.model_dump(include=body.model_fields_set)
    return await run(
        request,
        call,
        lambda actor, org: shapes.rate_limit(
            rate_limits.update_rate_limit(actor, org, project_id, rate_limit_id, changes)
        ),
    )
