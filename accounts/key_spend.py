"""What each API key has spent: today, this month and in total (UTC days and months).

The figures come from the usage app's hourly rollups, and usage sits above accounts:
accounts may not import it. So accounts owns this small registry and the usage app
hands it its query when it is ready (``UsageConfig.ready``), the way a lower app owns
the signal a higher one answers. Without a provider (an install without the usage
app) the Keys page shows no figures instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class KeySpend:
    """One key's spend over the periods its caps cover."""

    today: Decimal = ZERO
    month: Decimal = ZERO
    total: Decimal = ZERO


SpendQuery = Callable[[list[int]], Mapping[int, KeySpend]]

_provider: SpendQuery | None = None


def provide_key_spend(query: SpendQuery) -> None:
    """Register the query that answers ``{key id: KeySpend}`` for a list of key ids."""
    global _provider
    _provider = query


def key_spend(key_ids: Iterable[int]) -> dict[int, KeySpend] | None:
    """Spend per key (keys with none get zeros); ``None`` when no app provides figures."""
    ids = sorted(set(key_ids))
    if _provider is None:
        return None
    if not ids:
        return {}
    found = _provider(ids)
    return {key_id: found.get(key_id, KeySpend()) for key_id in ids}
