"""Shared Redis clients: one pool per process (async clients per event loop)."""

from __future__ import annotations

import asyncio

from django.conf import settings

_async_clients: dict[int, object] = {}
_sync_client = None


def get_async_redis():
    """The asyncio client for the running event loop (tests run several loops)."""
    import redis.asyncio as aioredis

    loop = asyncio.get_running_loop() if _has_loop() else None
    key = id(loop)
    client = _async_clients.get(key)
    if client is None:
        client = aioredis.Redis.from_url(settings.REDIS_URL, max_connections=200)
        _async_clients[key] = client
    return client


def get_redis():
    global _sync_client
    if _sync_client is None:
        import redis

        _sync_client = redis.Redis.from_url(settings.REDIS_URL)
    return _sync_client


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
