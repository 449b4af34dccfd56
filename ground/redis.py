"""Shared Redis clients: one pool per process (async clients per event loop)."""

from __future__ import annotations

import asyncio
import weakref

from django.conf import settings

# Keyed by the event loop itself (weakly), so a client never outlives or crosses its loop.
_async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_sync_client = None


def get_async_redis():
    """The asyncio client for the running event loop (tests run several loops)."""
    import redis.asyncio as aioredis

    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = aioredis.Redis.from_url(settings.REDIS_URL, max_connections=200)
        _async_clients[loop] = client
    return client


def get_redis():
    global _sync_client
    if _sync_client is None:
        import redis

        _sync_client = redis.Redis.from_url(settings.REDIS_URL)
    return _sync_client
