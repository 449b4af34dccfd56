"""``/v1/organization/projects`` (create, list, retrieve, modify, archive), a project's
users, and its spend limit (OpenAI's route, served as Portico's monthly budget)."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from ninja import Router

from accounts import project_members, projects
from accounts.org_keys import ADMIN_SCOPE
from gateway.admin_api import shapes
from gateway.admin_api.common import AdminListQuery, deleted, page, run
from gateway.admin_api.schemas import (
    Deleted,
    ProjectCreate,
    ProjectList,
    ProjectListQuery,
    ProjectModify,
    ProjectObject,
    ProjectUserAdd,
    ProjectUserModify,
    SpendLimitDeleted,
    SpendLimitModify,
    SpendLimitObject,
    UserList,
    UserObject,
)
from gateway.admission import Call, v1
from ground.bodies import json_body, parse_json, parse_query, query_parameters
from ground.errors import ApiError

router = Router(tags=["Admin API"])
PROJECTS = "/organization/projects"
PROJECT = PROJECTS + "/{project_id}"
USERS = PROJECT + "/users"


@router.post(
    PROJECTS,
    response=ProjectObject,
    openapi_extra=json_body(ProjectCreate),
    summary="Create a project",
)
@v1(ADMIN_SCOPE)
async def create_project(request: HttpRequest, call: Call) -> HttpResponse:
    body = parse_json(request, ProjectCreate)
    budgets = body.model_dump(include=set(projects.BUDGETS) & body.model_fields_set)
    return await run(
        request,
        call,
        lambda actor, org: shapes.project(
            projects.create_project(actor, org, body.name, **budgets)
        ),
    )


@router.get(
    PROJECTS,
    response=ProjectList,
    openapi_extra=query_parameters(ProjectListQuery),
    summary="List projects",
)
@v1(ADMIN_SCOPE)
async def list_projects(request: HttpRequest, call: Call) -> HttpResponse:
    options = parse_query(request, ProjectListQuery)
    return await run(
        request,
        call,
        lambda actor, org: page(
            projects.list_projects(org, include_archived=bool(options.include_archived)),
            shapes.project,
            after=options.after,
            limit=options.limit,
        ),
    )


@router.get(PROJECT, response=ProjectObject, summary="Retrieve a project")
@v1(ADMIN_SCOPE)
async def retrieve_project(request: HttpRequest, call: Call, project_id: str) -> HttpResponse:
    return await run(
        request, call, lambda actor, org: shapes.project(projects.get_project(org, project_id))
    )


@router.post(
    PROJECT,
    response=ProjectObject,
    openapi_extra=json_body(ProjectModify, required=False),
    summary="Modify a project's name and budgets",
)
@v1(ADMIN_SCOPE)
async def modify_project(request: HttpRequest, call: Call, project_id: str) -> HttpResponse:
    body = parse_json(request, ProjectModify, required=False)
    changes = body.model_dump(include=body.model_fields_set)
    return await run(
        request,
        call,
        lambda actor, org: shapes.project(projects.modify_project(actor, org, project_id, changes)),
    )


@router.post(PROJECT + "/archive", response=ProjectObject, summary="Archive a project")
@v1(ADMIN_SCOPE)
async def archive_project(request: HttpRequest, call: Call, project_id: str) -> HttpResponse:
    return await run(
        request,
        call,
        lambda actor, org: shapes.project(projects.archive_project(actor, org, project_id)),
    )


# --- The spend limit: OpenAI's route to the monthly budget (cents) ----------------------------
def spend_limit(project) -> dict:
    budget = project.monthly_budget_usd
    return {
        "object": "project.spend_limit",
        "currency": "USD",
        "interval": "month",
        "threshold_amount": int(budget * 100) if budget is not None else None,
        "enforcement": {"status": "enforcing" if budget is not None else "inactive"},
    }


@router.get(PROJECT + "/spend_limit", response=SpendLimitObject, summary="The monthly budget")
@v1(ADMIN_SCOPE)
async def retrieve_spend_limit(request: HttpRequest, call: Call, project_id: str) -> HttpResponse:
    return await run(
        request, call, lambda actor, org: spend_limit(projects.get_project(org, project_id))
    )


@router.post(
    PROJECT + "/spend_limit",
    response=SpendLimitObject,
    openapi_extra=json_body(SpendLimitModify),
    summary="Set the monthly budget (cents)",
)
@v1(ADMIN_SCOPE)
async def modify_spend_limit(request: HttpRequest, call: Call, project_id: str) -> HttpResponse:
    body = parse_json(request, SpendLimitModify)
    if body.threshold_amount < 0:
        raise ApiError(
            400,
            "Invalid 'threshold_amount': it cannot be negative.",
            param="threshold_amount",
            code="invalid_parameter",
        )
    budget = {"monthly_budget_usd": Decimal(body.threshold_amount).scaleb(-2)}

    def change(actor, org) -> dict:
        return spend_limit(projects.modify_project(actor, org, project_id, budget))

    return await run(request, call, change)


@router.delete(PROJECT + "/spend_limit", response=SpendLimitDeleted, summary="Remove the budget")
@v1(ADMIN_SCOPE)
async def delete_spend_limit(request: HttpRequest, call: Call, project_id: str) -> HttpResponse:
    def remove(actor, org) -> dict:
        projects.modify_project(actor, org, project_id, {"monthly_budget_usd": None})
        return {"object": "project.spend_limit.deleted", "deleted": True}

    return await run(request, call, remove)


# --- A project's users ---------------------------------------------------------------------------
@router.get(
    USERS,
    response=UserList,
    openapi_extra=query_parameters(AdminListQuery),
    summary="List a project's users",
)
@v1(ADMIN_SCOPE)
async def list_project_users(request: HttpRequest, call: Call, project_id: str) -> HttpResponse:
    options = parse_query(request, AdminListQuery)
    return await run(
        request,
        call,
        lambda actor, org: page(
            project_members.list_project_members(projects.get_project(org, project_id)),
            shapes.project_user,
            after=options.after,
            limit=options.limit,
        ),
    )


@router.post(
    USERS,
    response=UserObject,
    openapi_extra=json_body(ProjectUserAdd),
    summary="Add a user to a project",
)
@v1(ADMIN_SCOPE)
async def add_project_user(request: HttpRequest, call: Call, project_id: str) -> HttpResponse:
    body = parse_json(request, ProjectUserAdd)
    return await run(
        request,
        call,
        lambda actor, org: shapes.project_user(
            project_members.add_project_member(actor, org, project_id, body.user_id, body.role)
        ),
    )


@router.get(USERS + "/{user_id}", response=UserObject, summary="Retrieve a project's user")
@v1(ADMIN_SCOPE)
async def retrieve_project_user(
    request: HttpRequest, call: Call, project_id: str, user_id: str
) -> HttpResponse:
    return await run(
        request,
        call,
        lambda actor, org: shapes.project_user(
            project_members.get_project_member(projects.get_project(org, project_id), user_id)
        ),
    )


@router.post(
    USERS + "/{user_id}",
    response=UserObject,
    openapi_extra=json_body(ProjectUserModify, required=False),
    summary="Change a project user's role (and Portico's own monthly cap)",
)
@v1(ADMIN_SCOPE)
async def modify_project_user(
    request: HttpRequest, call: Call, project_id: str, user_id: str
) -> HttpResponse:
    body = parse_json(request, ProjectUserModify, required=False)
    changes = body.model_dump(include=body.model_fields_set)
    return await run(
        request,
        call,
        lambda actor, org: shapes.project_user(
            project_members.modify_project_member(actor, org, project_id, user_id, changes)
        ),
    )


@router.delete(USERS + "/{user_id}", response=Deleted, summary="Remove a user from a project")
@v1(ADMIN_SCOPE)
async def delete_project_user(
    request: HttpRequest, call: Call, project_id: str, user_id: str
) -> HttpResponse:
    def remove(actor, org) -> dict:
        project_members.remove_project_member(actor, org, project_id, user_id)
        return deleted(user_id, "organization.project.user.deleted")

    return await run(request, call, remove)
