"""Per-key spend for the Keys page, from the hourly rollups (``accounts.key_spend``).

The periods are the ones the key spend caps use (``billing.holds.check_key_budgets``):
the current UTC day, the current UTC month, and all time, summed over ``UsageRollup``.
One grouped query answers every key on the page.
"""

from __future__ import annotations

from django.db.models import Q, Sum
from django.utils import timezone

from accounts.key_spend import ZERO, KeySpend
from usage.models import UsageRollup


def spend_by_key(key_ids: list[int]) -> dict[int, KeySpend]:
    now = timezone.now()
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    rows = (
        UsageRollup.objects.filter(api_key_id__in=key_ids)
        .values("api_key_id")
        .annotate(
            today=Sum("cost_usd", filter=Q(hour__gte=day)),
            month=Sum("cost_usd", filter=Q(hour__gte=month)),
            total=Sum("cost_usd"),
        )
    )
    return {
        row["api_key_id"]: KeySpend(
            today=row["today"] or ZERO, month=row["month"] or ZERO, total=row["total"] or ZERO
        )
        for row in rows
    }
