"""The models a caller may use, and how models look in /v1/models and /v1/models/catalog."""

from __future__ import annotations

from accounts.snapshots import KeyContext
from catalog.snapshots import ModelEntry, get_catalog

LISTED_TYPES = ("llm", "embedding")


async def usable_models(ctx: KeyContext, types: tuple[str, ...] = LISTED_TYPES) -> list[ModelEntry]:
    """The enabled models of ``types`` with a deployment that ``ctx`` (a key, or the
    playground's signed-in user) may use: what ``/v1/models`` lists, in catalog order.

    The same cached catalog the endpoints resolve against, so a list never offers a model
    that the next request would not find. Other apps ask here, not the catalog.
    """
    catalog = await get_catalog()
    return [
        m
        for m in catalog.models.values()
        if m.type in types and m.deployments and ctx.allows_model(m.public_id)
    ]


def model_list_entry(model: ModelEntry) -> dict:
    return {
        "id": model.public_id,
        "object": "model",
        "created": model.created,
        "owned_by": model.owned_by or (model.providers[0] if model.providers else "portico"),
        "type": model.type,
    }


def catalog_entry(model: ModelEntry, day: dict | None, hour: dict | None, allowed: bool) -> dict:
    primary = model.deployments[0].provider if model.deployments else None
    empty = {"window": "24h", "sample_size": 0}
    return {
        **model_list_entry(model),
        "name": model.name,
        "description": model.description,
        "provider": primary.label if primary else "",
        "providers": model.providers,
        "context_window": model.context_window,
        "max_output_tokens": model.max_output_tokens,
        # Display values (JSON numbers, as the catalog reference shows); billing uses Decimals.
        "pricing": {
            "input_per_1m": float(model.input_price_per_1m),
            "output_per_1m": float(model.output_price_per_1m),
            "cached_input_per_1m": (
                float(model.cached_input_price_per_1m)
                if model.cached_input_price_per_1m is not None
                else None
            ),
            "currency": "USD",
        },
        "latency": day or empty,
        "latency_1h": hour or {**empty, "window": "1h"},
        "allowed": allowed,
    }
