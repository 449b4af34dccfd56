"""Per-operation costs of Portico's request path, measured in one process.

    python bench/gatewaybench/micro.py      # in a seeded Portico environment; prints JSON

Each operation runs a few hundred times on a uvloop event loop; the figures are wall and
CPU microseconds per operation (CPU time counts every thread of the process, so the
cost of starting and switching threads shows). CPU time is the steadier figure on a
busy machine. These are the parts the load figures are made of, priced one by one.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def noop() -> None:
    return None


async def measure(operation: Callable[[], Awaitable[object]], iterations: int) -> dict[str, float]:
    for _ in range(min(20, iterations)):  # warm caches, connections and thread pools
        await operation()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(iterations):
        await operation()
    return {
        "wall_us": (time.perf_counter() - wall) * 1e6 / iterations,
        "cpu_us": (time.process_time() - cpu) * 1e6 / iterations,
        "iterations": iterations,
    }


async def run() -> dict[str, dict[str, float]]:
    from asgiref.sync import ThreadSensitiveContext, sync_to_async
    from django.conf import settings

    from accounts.key_secrets import hash_key
    from accounts.models import ApiKey, User
    from accounts.snapshots import load_key_context
    from billing.holds import reserve_funds
    from billing.wallets import current_organization_id
    from catalog.snapshots import load_catalog_snapshot
    from usage import drain, events, spool

    hop = sync_to_async(noop)
    user_id = await sync_to_async(lambda: User.objects.values_list("pk", flat=True).first())()
    org_id = await sync_to_async(current_organization_id)(user_id)
    hashed = await sync_to_async(
        lambda: ApiKey.objects.values_list("hashed_key", flat=True).first()
    )()
    event = events.UsageEvent(
        request_id="req_" + uuid.uuid4().hex,
        user_id=user_id,
        model="bench-free",
        prompt_tokens=20,
        completion_tokens=16,
    )
    spool_dir = str(settings.USAGE_SPOOL_DIR)

    async def django_request_threads() -> None:
        # What Django's ASGIHandler adds per request: a thread-sensitive context (a new
        # executor thread, and a thread to join it) and two hops (request_started,
        # response.close → request_finished).
        async with ThreadSensitiveContext():
            await hop()
            await hop()

    async def shared_thread_hop() -> None:
        await hop()

    async def spool_write() -> None:
        spool.append(spool_dir, event.to_json())

    async def key_reload() -> None:
        await sync_to_async(load_key_context)(hashed)

    async def catalog_reload() -> None:
        await sync_to_async(load_catalog_snapshot)()

    async def funds_reservation() -> None:
        request_id = "req_" + uuid.uuid4().hex
        await sync_to_async(reserve_funds)(org_id, request_id, Decimal("0.0001"))

    async def request_id() -> None:
        _ = f"req_{uuid.uuid4().hex}"

    async def api_key_hash() -> None:
        hash_key("sk-" + "x" * 43)

    operations: dict[str, tuple[Callable[[], Awaitable[object]], int]] = {
        "Django per-request thread context + 2 hops": (django_request_threads, 300),
        "one sync_to_async hop (shared thread)": (shared_thread_hop, 1000),
        "usage event spool append": (spool_write, 500),
        "key snapshot reload (ORM, SQLite)": (key_reload, 300),
        "catalog snapshot reload (ORM, SQLite)": (catalog_reload, 200),
        "funds reservation (reserve_funds)": (funds_reservation, 200),
        "request id (uuid4)": (request_id, 5000),
        "API key hash (HMAC-SHA-256)": (api_key_hash, 5000),
    }
    results = {}
    for name, (operation, iterations) in operations.items():
        results[name] = await measure(operation, iterations)
    drain.discard_pending_events()  # the spool lines written above are not real usage
    return results


def main() -> None:
    import django

    django.setup()
    try:
        import uvloop
    except ImportError:
        results = asyncio.run(run())
    else:
        results = uvloop.run(run())
    sys.stdout.write(orjson.dumps(results).decode() + "\n")


if __name__ == "__main__":
    main()
