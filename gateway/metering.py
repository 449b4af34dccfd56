"""Usage events: made durable on the hot path without a database write, then drained.

A web process writes each finished request's event to a Redis stream (with
``REDIS_URL``) or to its own small file in a spool folder (the embedded default;
written with one atomic rename, so a process killed right after answering loses
nothing). A Celery beat task drains the events in batches: one transaction inserts
the usage records, keeps the hourly rollups and lets billing settle each request
once. Draining is idempotent by request id, so a crash between insert and
acknowledgement only causes a harmless second look.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction

log = logging.getLogger(__name__)

GROUP = "drainers"
CLAIM_IDLE_MS = 30_000

# Called inside the draining transaction with the newly recorded events; billing
# registers its settlement here (see billing.apps).
SETTLEMENT_HOOKS: list[Callable[[list[dict]], None]] = []


# --- Emitting ----------------------------------------------------------------------------
async def emit(event: dict) -> None:
    payload = orjson.dumps(event)
    if settings.REDIS_URL:
        from portal.redis import get_async_redis

        await get_async_redis().xadd(settings.USAGE_STREAM, {"e": payload})
    else:
        write_spool_file(payload, event["request_id"])


def emit_sync(event: dict) -> None:
    payload = orjson.dumps(event)
    if settings.REDIS_URL:
        from portal.redis import get_redis

        get_redis().xadd(settings.USAGE_STREAM, {"e": payload})
    else:
        write_spool_file(payload, event["request_id"])


_spool_ready: set[str] = set()


def write_spool_file(payload: bytes, request_id: str) -> None:
    """One small file per event, made visible by an atomic rename (no partial reads)."""
    folder = str(settings.USAGE_SPOOL_DIR)
    if folder not in _spool_ready:
        os.makedirs(folder, exist_ok=True)
        _spool_ready.add(folder)
    temporary = f"{folder}/.{request_id}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except FileNotFoundError:  # the folder was removed since (tests, cleanup)
        _spool_ready.discard(folder)
        return write_spool_file(payload, request_id)
    try:
        os.write(fd, payload)
    finally:
        os.close(fd)
    os.rename(temporary, f"{folder}/{time.time_ns():020d}-{request_id}.json")


# --- Sources of events to drain -------------------------------------------------------------
class SpoolSource:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def claim(self, limit: int) -> list[tuple[object, dict]]:
        if not self.folder.exists():
            return []
        claimed: list[tuple[object, dict]] = []
        mine = f".claimed-{os.getpid()}-"
        now = time.time()
        for path in sorted(self.folder.iterdir()):
            if len(claimed) >= limit:
                break
            name = path.name
            if name.startswith(".claimed-"):
                # A drainer that died mid-batch: take its files back after a minute.
                try:
                    if now - path.stat().st_mtime < 60:
                        continue
                except FileNotFoundError:
                    continue
                name = name.split("-", 3)[-1]
            elif not name.endswith(".json"):
                continue
            target = self.folder / f"{mine}{name}"
            try:
                os.rename(path, target)
                os.utime(target)
                claimed.append((target, orjson.loads(target.read_bytes())))
            except FileNotFoundError:
                continue  # another drainer took it
            except orjson.JSONDecodeError:
                log.error("Unreadable usage event %s kept aside", target)
                os.rename(target, self.folder / f"broken-{name}")
        return claimed

    def ack(self, tokens: list[object]) -> None:
        for path in tokens:
            Path(path).unlink(missing_ok=True)


class RedisStreamSource:
    def __init__(self, client, stream: str) -> None:
        self.client = client
        self.stream = stream
        self.consumer = f"{os.uname().nodename}-{os.getpid()}"
        try:
            client.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except Exception as exc:  # BUSYGROUP: the group exists already
            if "BUSYGROUP" not in str(exc):
                raise

    def claim(self, limit: int) -> list[tuple[object, dict]]:
        entries = []
        # Events a dead drainer read but never acknowledged.
        _, stale, *_ = self.client.xautoclaim(
            self.stream, GROUP, self.consumer, CLAIM_IDLE_MS, "0-0", count=limit
        )
        entries.extend(stale)
        if len(entries) < limit:
            fresh = self.client.xreadgroup(
                GROUP, self.consumer, {self.stream: ">"}, count=limit - len(entries)
            )
            for _, items in fresh or []:
                entries.extend(items)
        claimed = []
        for entry_id, fields in entries:
            if not fields:
                continue
            claimed.append((entry_id, orjson.loads(fields[b"e"])))
        return claimed

    def ack(self, tokens: list[object]) -> None:
        if tokens:
            pipe = self.client.pipeline()
            pipe.xack(self.stream, GROUP, *tokens)
            pipe.xdel(self.stream, *tokens)
            pipe.execute()


def event_source():
    if settings.REDIS_URL:
        from portal.redis import get_redis

        return RedisStreamSource(get_redis(), settings.USAGE_STREAM)
    return SpoolSource(Path(settings.USAGE_SPOOL_DIR))


# --- Draining ---------------------------------------------------------------------------------
def drain_usage(batch: int = 2000, max_batches: int = 50) -> int:
    """Move pending usage events into the database; returns how many were recorded."""
    source = event_source()
    recorded = 0
    for _ in range(max_batches):
        claimed = source.claim(batch)
        if not claimed:
            break
        events = [event for _, event in claimed]
        for attempt in range(3):
            try:
                recorded += record_usage_events(events)
                break
            except IntegrityError:
                # Another drainer recorded some of these (or a rollup row) concurrently.
                if attempt == 2:
                    raise
        source.ack([token for token, _ in claimed])
    return recorded


def record_usage_events(events: list[dict]) -> int:
    from gateway.models import UsageRecord

    with transaction.atomic():
        unique = {e["request_id"]: e for e in events}
        existing = set(
            UsageRecord.objects.filter(request_id__in=list(unique)).values_list(
                "request_id", flat=True
            )
        )
        new = drop_orphans([e for rid, e in unique.items() if rid not in existing])
        if not new:
            return 0
        UsageRecord.objects.bulk_create([usage_record_from(e) for e in new])
        update_usage_rollups(new)
        update_latency_rollups(new)
        touch_keys(new)
        for hook in SETTLEMENT_HOOKS:
            hook(new)
    return len(new)


def drop_orphans(events: list[dict]) -> list[dict]:
    """Events of a user deleted since are dropped; of a deleted key, kept without the key."""
    from accounts.models import User
    from gateway.models import ApiKey

    if not events:
        return events
    users = set(
        User.objects.filter(pk__in={e["user_id"] for e in events}).values_list("pk", flat=True)
    )
    keys = set(
        ApiKey.objects.filter(pk__in={e.get("api_key_id") for e in events} - {None}).values_list(
            "pk", flat=True
        )
    )
    kept = []
    for event in events:
        if event["user_id"] not in users:
            log.warning(
                "Dropping usage event %s of deleted user %s", event["request_id"], event["user_id"]
            )
            continue
        if event.get("api_key_id") not in keys:
            event["api_key_id"] = None
        kept.append(event)
    return kept


def discard_pending_events() -> None:
    """Forget every event not yet drained (tests start from a clean slate)."""
    if settings.REDIS_URL:
        from portal.redis import get_redis

        get_redis().delete(settings.USAGE_STREAM)
    else:
        import shutil

        shutil.rmtree(settings.USAGE_SPOOL_DIR, ignore_errors=True)


RECORD_FIELDS = (
    "request_id",
    "model",
    "provider",
    "deployment_id",
    "upstream_model",
    "source",
    "endpoint",
    "stream",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "tokens_reported",
    "estimated_prompt_tokens",
    "units",
    "status",
    "http_status",
    "error_code",
    "latency_ms",
    "ttft_ms",
    "fallbacks",
)


def usage_record_from(event: dict):
    from gateway.models import UsageRecord

    values = {
        name: event[name] for name in RECORD_FIELDS if name in event and event[name] is not None
    }
    return UsageRecord(
        user_id=event["user_id"],
        api_key_id=event.get("api_key_id"),
        cost_usd=Decimal(event.get("cost_usd") or "0"),
        created_at=event_time(event),
        **values,
    )


def event_time(event: dict) -> datetime:
    return datetime.fromtimestamp(event["created_at"], tz=UTC)


def hour_of(event: dict) -> datetime:
    return event_time(event).replace(minute=0, second=0, microsecond=0)


def update_usage_rollups(events: list[dict]) -> None:
    from gateway.models import UsageRollup

    groups: dict[tuple, dict] = {}
    for e in events:
        key = (
            hour_of(e),
            e["user_id"],
            e.get("api_key_id"),
            e["model"],
            e.get("source", "api_key"),
        )
        g = groups.setdefault(
            key,
            {
                "requests": 0,
                "errors": 0,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "units": 0,
                "cost_usd": Decimal(0),
            },
        )
        g["requests"] += 1
        g["errors"] += e.get("status") == "error"
        g["prompt_tokens"] += e.get("prompt_tokens") or 0
        g["completion_tokens"] += e.get("completion_tokens") or 0
        g["units"] += e.get("units") or 0
        g["cost_usd"] += Decimal(e.get("cost_usd") or "0")
    hours = {k[0] for k in groups}
    users = {k[1] for k in groups}
    rows = {
        (r.hour, r.user_id, r.api_key_id, r.model, r.source): r
        for r in UsageRollup.objects.select_for_update().filter(hour__in=hours, user_id__in=users)
    }
    to_create, to_update = [], []
    for key, totals in groups.items():
        row = rows.get(key)
        if row is None:
            hour, user_id, key_id, model, source = key
            to_create.append(
                UsageRollup(
                    hour=hour,
                    user_id=user_id,
                    api_key_id=key_id,
                    model=model,
                    source=source,
                    **totals,
                )
            )
            continue
        for name, value in totals.items():
            setattr(row, name, getattr(row, name) + value)
        to_update.append(row)
    UsageRollup.objects.bulk_create(to_create)
    UsageRollup.objects.bulk_update(
        to_update, ["requests", "errors", "prompt_tokens", "completion_tokens", "units", "cost_usd"]
    )


def update_latency_rollups(events: list[dict]) -> None:
    from gateway.latency import add_to_histogram
    from gateway.models import LatencyRollup

    relevant = [e for e in events if e.get("provider") and e.get("endpoint") != "rejected"]
    if not relevant:
        return
    groups: dict[tuple, list[dict]] = {}
    for e in relevant:
        groups.setdefault((hour_of(e), e["model"], e["provider"]), []).append(e)
    rows = {
        (r.hour, r.model, r.provider): r
        for r in LatencyRollup.objects.select_for_update().filter(
            hour__in={k[0] for k in groups}, model__in={k[1] for k in groups}
        )
    }
    to_create, to_update = [], []
    for key, items in groups.items():
        row = rows.get(key)
        if row is None:
            row = LatencyRollup(
                hour=key[0], model=key[1], provider=key[2], latency_hist=[], ttft_hist=[]
            )
            to_create.append(row)
        else:
            to_update.append(row)
        for e in items:
            row.requests += 1
            if e.get("status") == "error":
                row.errors += 1
                continue
            latency = int(e.get("latency_ms") or 0)
            row.latency_ms_sum += latency
            row.latency_hist = add_to_histogram(row.latency_hist, latency)
            ttft = e.get("ttft_ms")
            if ttft is not None:
                row.ttft_count += 1
                row.ttft_ms_sum += int(ttft)
                row.ttft_hist = add_to_histogram(row.ttft_hist, int(ttft))
            output = int(e.get("completion_tokens") or 0)
            generation = latency - int(ttft) if ttft is not None and e.get("stream") else latency
            if output and generation > 0:
                row.output_tokens += output
                row.generation_ms += generation
    LatencyRollup.objects.bulk_create(to_create)
    LatencyRollup.objects.bulk_update(
        to_update,
        [
            "requests",
            "errors",
            "latency_ms_sum",
            "latency_hist",
            "ttft_count",
            "ttft_ms_sum",
            "ttft_hist",
            "output_tokens",
            "generation_ms",
        ],
    )


def touch_keys(events: list[dict]) -> None:
    """``last_used_at`` is written here, in bulk, never once per request."""
    from gateway.models import ApiKey

    latest: dict[int, float] = {}
    for e in events:
        key_id = e.get("api_key_id")
        if key_id:
            latest[key_id] = max(latest.get(key_id, 0), e["created_at"])
    for key_id, ts in latest.items():
        # Through the queryset: a key's save() signal would invalidate its snapshot.
        ApiKey.objects.filter(pk=key_id).update(last_used_at=datetime.fromtimestamp(ts, tz=UTC))
