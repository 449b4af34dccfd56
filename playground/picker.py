"""The models the playground's picker offers a user, through the gateway's own list of
what a caller may use (``gateway.catalog_views.usable_models``), and how each is shown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.snapshots import aplayground_context
from catalog.snapshots import ModelEntry
from gateway.catalog_views import usable_models
from ground.money import format_cost, plain

if TYPE_CHECKING:
    from accounts.models import User


async def models_for(user: User) -> list[ModelEntry]:
    """The chat models the user may use (their allowlist, as the playground's caller),
    sorted by name for the picker."""
    usable = await usable_models(await aplayground_context(user), ("llm",))
    return sorted(usable, key=lambda m: (m.name.lower(), m.public_id))


def model_option(model: ModelEntry) -> dict:
    return {
        "id": model.public_id,
        "name": model.name,
        "input_per_1m": plain(model.input_price_per_1m),
        "output_per_1m": plain(model.output_price_per_1m),
        "price_text": f"{format_cost(model.input_price_per_1m)} in · "
        f"{format_cost(model.output_price_per_1m)} out per 1M tokens",
        "context_window": model.context_window,
        "max_output_tokens": model.max_output_tokens,
    }
