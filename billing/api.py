from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from ninja import Router

from billing.flows import wallet_summary
from gateway import proxy
from gateway.auth import authenticate
from gateway.proxy import Call

router = Router(tags=["Usage"])


@router.get("/wallet", summary="Your prepaid balance, open holds and available funds")
async def wallet(request: HttpRequest) -> HttpResponse:
    ctx = await authenticate(request, "usage")
    call = Call(ctx=ctx, endpoint="none")
    await proxy.admit(call, 0)
    summary = await sync_to_async(wallet_summary)(ctx.owner_id)
    return proxy.with_headers(proxy.json_response(summary), call)
