"""What the hot path knows of the catalog without asking the database.

The snapshot lives in this process for at most ``LOCAL_TTL`` seconds. Behind that, with
Redis configured, a version number that every catalog change bumps, so admin changes
reach every web process within about a second.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache

from catalog.models import Deployment, Model
from ground.singleflight import SingleFlight

LOCAL_TTL = 1.0
CATALOG_VERSION_KEY = "catalog:version"


def shared_cache_enabled() -> bool:
    """Only a cache other processes see (Redis) can carry snapshots between them."""
    return bool(settings.REDIS_URL)


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    id: int
    name: str
    label: str
    kind: str
    base_url: str
    api_key: str
    extra_headers: dict
    connect_timeout: float
    first_byte_timeout: float
    total_timeout: float


@dataclass(frozen=True, slots=True)
class DeploymentEntry:
    id: int
    provider: ProviderEntry
    upstream_model: str
    priority: int
    weight: int


@dataclass(frozen=True, slots=True)
class ModelEntry:
    id: int
    public_id: str
    type: str
    name: str
    description: str
    owned_by: str
    context_window: int | None
    max_output_tokens: int | None
    input_price_per_1m: Decimal
    output_price_per_1m: Decimal
    cached_input_price_per_1m: Decimal | None
    unit_price: Decimal
    created: int
    deployments: tuple[DeploymentEntry, ...] = field(default=())

    @property
    def providers(self) -> list[str]:
        return sorted({d.provider.name for d in self.deployments})


@dataclass
class Catalog:
    models: dict[str, ModelEntry]
    version: str
    loaded_at: float

    def resolve(self, requested: str) -> tuple[ModelEntry, tuple[DeploymentEntry, ...]] | None:
        """A plain id, or ``provider/model`` to pin one provider's deployments."""
        entry = self.models.get(requested)
        if entry is not None:
            return entry, entry.deployments
        provider, _, model_id = requested.partition("/")
        entry = self.models.get(model_id) if model_id else None
        if entry is None:
            return None
        pinned = tuple(d for d in entry.deployments if d.provider.name == provider)
        return (entry, pinned) if pinned else None


def load_catalog_snapshot(version: str = "") -> Catalog:
    deployments: dict[int, list[DeploymentEntry]] = {}
    providers: dict[int, ProviderEntry] = {}
    rows = Deployment.objects.filter(
        enabled=True, provider__enabled=True, model__enabled=True
    ).select_related("provider")
    for row in rows:
        p = row.provider
        if p.pk not in providers:
            try:
                api_key = p.get_api_key()
            except ValueError:
                api_key = ""
            providers[p.pk] = ProviderEntry(
                id=p.pk,
                name=p.name,
                label=p.display_name,
                kind=p.kind,
                base_url=p.base_url.rstrip("/"),
                api_key=api_key,
                extra_headers=dict(p.extra_headers or {}),
                connect_timeout=p.connect_timeout,
                first_byte_timeout=p.first_byte_timeout,
                total_timeout=p.total_timeout,
            )
        deployments.setdefault(row.model_id, []).append(
            DeploymentEntry(
                id=row.pk,
                provider=providers[p.pk],
                upstream_model=row.upstream_model,
                priority=row.priority,
                weight=max(row.weight, 1),
            )
        )
    models = {}
    for m in Model.objects.filter(enabled=True):
        models[m.public_id] = ModelEntry(
            id=m.pk,
            public_id=m.public_id,
            type=m.type,
            name=m.name or m.public_id,
            description=m.description,
            owned_by=m.owned_by,
            context_window=m.context_window,
            max_output_tokens=m.max_output_tokens,
            input_price_per_1m=m.input_price_per_1m,
            output_price_per_1m=m.output_price_per_1m,
            cached_input_price_per_1m=m.cached_input_price_per_1m,
            unit_price=m.unit_price,
            created=int(m.created_at.timestamp()) if isinstance(m.created_at, datetime) else 0,
            deployments=tuple(sorted(deployments.get(m.pk, []), key=lambda d: d.priority)),
        )
    return Catalog(models=models, version=version, loaded_at=time.monotonic())


_catalog: Catalog | None = None
_catalog_loads: SingleFlight[Catalog] = SingleFlight()


async def get_catalog() -> Catalog:
    if _catalog is not None and time.monotonic() - _catalog.loaded_at < LOCAL_TTL:
        return _catalog
    return await _catalog_loads.run("catalog", reload_catalog)


async def reload_catalog() -> Catalog:
    global _catalog
    now = time.monotonic()
    version = ""
    if shared_cache_enabled():
        version = str(await cache.aget(CATALOG_VERSION_KEY, ""))
        if _catalog is not None and version and version == _catalog.version:
            _catalog.loaded_at = now
            return _catalog
    _catalog = await sync_to_async(load_catalog_snapshot)(version)
    return _catalog


def get_catalog_sync() -> Catalog:
    """For synchronous callers (portal pages, management commands): always fresh."""
    return load_catalog_snapshot()


def bump_catalog_version() -> None:
    global _catalog
    _catalog = None
    if shared_cache_enabled():
        cache.set(CATALOG_VERSION_KEY, f"{time.time_ns()}-{random.random()}", None)
