"""A clean slate between tests without touching other test runs' keys.

Django's Redis cache ``clear()`` is ``FLUSHDB``: it would also wipe a parallel run's
other workers' cache, rate-limit counters, usage stream and broker queues. This deletes
only this process's keys (its cache prefix, ``REDIS_KEY_PREFIX``, and its broker prefix
when the run is parallel); without Redis it clears the in-process cache.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from ground.redis import get_redis


def own_patterns() -> list[str]:
    patterns = [
        f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:*",
        f"{settings.REDIS_KEY_PREFIX}:*",
    ]
    broker_prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix")
    if broker_prefix:
        patterns.append(f"{broker_prefix}*")
    return patterns


def clear_cache() -> None:
    if not settings.REDIS_URL:
        cache.clear()
        return
    client = get_redis()
    for pattern in own_patterns():
        keys = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
