"""What every Admin API route shares: who the admin key acts as, the use case run in a
worker thread with its ``OrgError`` turned into the API's error, OpenAI's list page, and
the typed query of a list.

Every route wears ``@v1(ADMIN_SCOPE)``: the same authentication, rate-limit step and
headers as the rest of ``/v1``. Only an admin key has that scope, and an admin key has
no other (``gateway.authentication.scope_refusal`` words both refusals as OpenAI does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from ninja import Field, Schema

from accounts.org_keys import admin_key_actor
from accounts.org_rules import OrgError
from gateway.call import Call
from gateway.proxy import json_response
from ground.bodies import ascii_int
from ground.errors import ApiError
from ground.net import client_ip

MAX_ID = 80


class AdminListQuery(Schema):
    after: str | None = Field(
        None, max_length=MAX_ID, description="The id of the last object seen."
    )
    limit: ascii_int(ge=1, le=100) | None = Field(None, description="1 to 100 (default 20).")


def api_error(error: OrgError) -> ApiError:
    return ApiError(error.status, error.message, code=error.code, param=error.param)


async def run(request: HttpRequest, call: Call, use: Callable[..., Any], *args) -> HttpResponse:
    """``use(actor, organization, *args)`` in a worker thread, answered as JSON."""

    def work() -> Any:
        actor, organization = admin_key_actor(call.ctx.key_id, client_ip(request))
        return use(actor, organization, *args)

    try:
        return json_response(await sync_to_async(work)())
    except OrgError as error:
        raise api_error(error) from None


def page(
    items: Sequence, shape: Callable[[Any], dict], *, after: str | None, limit: int | None
) -> dict:
    """OpenAI's list: ``{"object": "list", "data", "first_id", "last_id", "has_more"}``,
    the objects after the one whose id is ``after``. ``items`` are few (an organization's
    members, projects, keys), so they are shaped and cut here."""
    shaped = [shape(item) for item in items]
    if after:
        ids = [entry["id"] for entry in shaped]
        if after not in ids:
            raise OrgError(
                f"Invalid 'after': no object with id '{after}' in this list.", param="after"
            )
        shaped = shaped[ids.index(after) + 1 :]
    size = limit or 20
    data = shaped[:size]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(shaped) > size,
    }


def deleted(public_id: str, object_name: str) -> dict:
    return {"id": public_id, "object": object_name, "deleted": True}
