"""``/v1/organization/users``, ``…/invites`` and ``…/admin_api_keys`` (OpenAI's Admin API)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from accounts import invites, org_keys, org_members
from accounts.org_keys import ADMIN_SCOPE
from gateway.admin_api import shapes
from gateway.admin_api.common import AdminListQuery, deleted, page, run
from gateway.admin_api.schemas import (
    AdminKeyCreate,
    AdminKeyCreated,
    ApiKeyList,
    ApiKeyObject,
    Deleted,
    InviteCreate,
    InviteList,
    InviteObject,
    RoleChange,
    UserList,
    UserObject,
)
from gateway.admission import Call, v1
from ground.bodies import json_body, parse_json, parse_query, query_parameters

router = Router(tags=["Admin API"])
USERS = "/organization/users"
INVITES = "/organization/invites"
ADMIN_KEYS = "/organization/admin_api_keys"


# --- Users ---------------------------------------------------------------------------------------
@router.get(
    USERS, response=UserList, openapi_extra=query_parameters(AdminListQuery), summary="List users"
)
@v1(ADMIN_SCOPE)
async def list_users(request: HttpRequest, call: Call) -> HttpResponse:
    options = parse_query(request, AdminListQuery)
    return await run(
        request,
        call,
        lambda actor, org: page(
            org_members.list_members(org), shapes.user, after=options.after, limit=options.limit
        ),
    )


@router.get(USERS + "/{user_id}", response=UserObject, summary="Retrieve a user")
@v1(ADMIN_SCOPE)
async def retrieve_user(request: HttpRequest, call: Call, user_id: str) -> HttpResponse:
    return await run(
        request, call, lambda actor, org: shapes.user(org_members.get_member(org, user_id))
    )


@router.post(
    USERS + "/{user_id}",
    response=UserObject,
    openapi_extra=json_body(RoleChange),
    summary="Change a user's role",
)
@v1(ADMIN_SCOPE)
async def modify_user(request: HttpRequest, call: Call, user_id: str) -> HttpResponse:
    body = parse_json(request, RoleChange)
    return await run(
        request,
        call,
        lambda actor, org: shapes.user(org_members.change_role(actor, org, user_id, body.role)),
    )


@router.delete(USERS + "/{user_id}", response=Deleted, summary="Remove a user")
@v1(ADMIN_SCOPE)
async def delete_user(request: HttpRequest, call: Call, user_id: str) -> HttpResponse:
    def remove(actor, org) -> dict:
        org_members.remove_member(actor, org, user_id)
        return deleted(user_id, "organization.user.deleted")

    return await run(request, call, remove)


# --- Invites -------------------------------------------------------------------------------------
@router.post(
    INVITES, response=InviteObject, openapi_extra=json_body(InviteCreate), summary="Invite someone"
)
@v1(ADMIN_SCOPE)
async def create_invite(request: HttpRequest, call: Call) -> HttpResponse:
    body = parse_json(request, InviteCreate)
    chosen = (
        [p.model_dump() for p in body.projects]
        if "projects" in body.model_fields_set and body.projects is not None
        else invites.UNSET
    )
    return await run(
        request,
        call,
        lambda actor, org: shapes.invite(
            invites.create_invite(actor, org, body.email, body.role, chosen)
        ),
    )


@router.get(
    INVITES,
    response=InviteList,
    openapi_extra=query_parameters(AdminListQuery),
    summary="List invites",
)
@v1(ADMIN_SCOPE)
async def list_invites(request: HttpRequest, call: Call) -> HttpResponse:
    options = parse_query(request, AdminListQuery)
    return await run(
        request,
        call,
        lambda actor, org: page(
            invites.list_invites(org), shapes.invite, after=options.after, limit=options.limit
        ),
    )


@router.get(INVITES + "/{invite_id}", response=InviteObject, summary="Retrieve an invite")
@v1(ADMIN_SCOPE)
async def retrieve_invite(request: HttpRequest, call: Call, invite_id: str) -> HttpResponse:
    return await run(
        request, call, lambda actor, org: shapes.invite(invites.get_invite(org, invite_id))
    )


@router.delete(INVITES + "/{invite_id}", response=Deleted, summary="Delete a pending invite")
@v1(ADMIN_SCOPE)
async def delete_invite(request: HttpRequest, call: Call, invite_id: str) -> HttpResponse:
    def remove(actor, org) -> dict:
        invites.delete_invite(actor, org, invite_id)
        return deleted(invite_id, "organization.invite.deleted")

    return await run(request, call, remove)


# --- Admin keys ----------------------------------------------------------------------------------
@router.post(
    ADMIN_KEYS,
    response=AdminKeyCreated,
    openapi_extra=json_body(AdminKeyCreate),
    summary="Mint an admin key (its value shown once)",
)
@v1(ADMIN_SCOPE)
async def create_admin_key(request: HttpRequest, call: Call) -> HttpResponse:
    body = parse_json(request, AdminKeyCreate)

    def mint(actor, org) -> dict:
        issued = org_keys.mint_admin_key(actor, org, body.name, body.expires_in_seconds)
        return {**shapes.admin_api_key(issued.key), "value": issued.secret}

    return await run(request, call, mint)


@router.get(
    ADMIN_KEYS,
    response=ApiKeyList,
    openapi_extra=query_parameters(AdminListQuery),
    summary="List admin keys",
)
@v1(ADMIN_SCOPE)
async def list_admin_keys(request: HttpRequest, call: Call) -> HttpResponse:
    options = parse_query(request, AdminListQuery)
    return await run(
        request,
        call,
        lambda actor, org: page(
            org_keys.admin_keys(org), shapes.admin_api_key, after=options.after, limit=options.limit
        ),
    )


@router.get(ADMIN_KEYS + "/{key_id}", response=ApiKeyObject, summary="Retrieve an admin key")
@v1(ADMIN_SCOPE)
async def retrieve_admin_key(request: HttpRequest, call: Call, key_id: str) -> HttpResponse:
    return await run(
        request,
        call,
        lambda actor, org: shapes.admin_api_key(org_keys.get_admin_key(org, key_id)),
    )


@router.delete(ADMIN_KEYS + "/{key_id}", response=Deleted, summary="Delete an admin key")
@v1(ADMIN_SCOPE)
async def delete_admin_key(request: HttpRequest, call: Call, key_id: str) -> HttpResponse:
    def remove(actor, org) -> dict:
        org_keys.delete_admin_key(actor, org, key_id)
        return deleted(key_id, "organization.admin_api_key.deleted")

    return await run(request, call, remove)
