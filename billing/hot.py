"""The billing step on the /v1 hot path: one atomic reservation per priced request."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from billing.flows import BillingError, reserve_funds
from portal.errors import ApiError


async def reserve_for_call(call):
    from gateway.proxy import worst_case_cost

    amount = worst_case_cost(call)
    if amount <= 0:
        return None
    ctx = call.ctx
    budgets = {"daily": ctx.daily_budget, "monthly": ctx.monthly_budget, "total": ctx.total_budget}
    try:
        return await sync_to_async(reserve_funds)(
            ctx.owner_id, call.request_id, amount, api_key_id=ctx.key_id or None, budgets=budgets
        )
    except BillingError as exc:
        raise ApiError(402, exc.message, type="insufficient_quota", code=exc.code) from None
