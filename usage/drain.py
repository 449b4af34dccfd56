"""Draining usage events into the database: records, hourly rollups, then an announcement.

A Celery beat task claims pending events in batches (from the Redis stream or the spool
folder). One transaction places each event in its organization and project, inserts the usage
records, keeps the hourly rollups (usage per organization × project × user × key ×
model × source, latency per model × provider) and sends
``usage.signals.usage_recorded`` so billing settles each request once, without this app
knowing about billing. Draining is idempotent by request id, so a crash between insert
and acknowledgement only causes a harmless second look.

Nothing can stop the meter: an event that cannot be parsed, or whose batch the database
refuses, is retried alone; if it still fails it is parked in ``DeadUsageEvent`` with the
error (listed in the admin) and the rest of the batch is recorded.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction

from accounts.models import ApiKey, User
from catalog.latency import add_to_histogram
from catalog.models import LatencyRollup
from ground import metrics
from ground.redis import get_redis
from usage import spool
from usage.events import UsageEvent
from usage.models import DeadUsageEvent, UsageRecord, UsageRollup
from usage.placing import place_events
from usage.signals import usage_recorded
from usage.spool import Claimed, SpoolSource

log = logging.getLogger(__name__)

GROUP = "drainers"
CLAIM_IDLE_MS = 30_000


# --- Sources of events to drain -------------------------------------------------------------
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

    def claim(self, limit: int) -> list[Claimed]:
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
        return [(entry_id, fields.get(b"e", b"")) for entry_id, fields in entries if fields]

    def ack(self, tokens: list[object]) -> None:
        if tokens:
            pipe = self.client.pipeline()
            pipe.xack(self.stream, GROUP, *tokens)
            pipe.xdel(self.stream, *tokens)
            pipe.execute()

    def pending(self, limit: int = 5000) -> list[bytes]:
        return [f.get(b"e", b"") for _, f in self.client.xrange(self.stream, count=limit) if f]

    def release(self) -> None:
        pass


def event_source(*, wait: bool = True) -> SpoolSource | RedisStreamSource:
    if settings.REDIS_URL:
        return RedisStreamSource(get_redis(), settings.USAGE_STREAM)
    lock_wait = spool.LOCK_WAIT_SECONDS if wait else 0.0
    return SpoolSource(Path(settings.USAGE_SPOOL_DIR), lock_wait=lock_wait)


def pending_events(user_id: int) -> list[UsageEvent]:
    """This user's events that are durable but not drained yet, newest first."""
    found = []
    for raw in event_source().pending():
        try:
            event = UsageEvent.from_json(raw)
        except ValueError:
            continue
        if event.user_id == user_id:
            found.append(event)
    return sorted(found, key=lambda e: e.created_at, reverse=True)


def pending_count() -> int:
    """How many events wait to be drained (``/metrics``): the stream's length, or the
    spool's undrained lines."""
    if settings.REDIS_URL:
        return int(get_redis().xlen(settings.USAGE_STREAM))
    return SpoolSource(Path(settings.USAGE_SPOOL_DIR)).pending_count()


def discard_pending_events() -> None:
    """Forget every event not yet drained (tests start from a clean slate)."""
    if settings.REDIS_URL:
        get_redis().delete(settings.USAGE_STREAM)
    else:
        shutil.rmtree(settings.USAGE_SPOOL_DIR, ignore_errors=True)


# --- Draining ---------------------------------------------------------------------------------
def drain_usage(batch: int = 2000, max_batches: int = 50, *, wait: bool = True) -> int:
    """Move pending usage events into the database; returns how many were recorded.

    Spool drainers take turns: by default a call waits for one at work, so what was
    emitted before the call is recorded when it returns; ``wait=False`` (the periodic
    task) returns at once instead, leaving it to the drainer at work."""
    source = event_source(wait=wait)
    recorded = 0
    try:
        for _ in range(max_batches):
            claimed = source.claim(batch)
            if not claimed:
                break
            events: list[UsageEvent] = []
            for _token, raw in claimed:
                try:
                    events.append(UsageEvent.from_json(raw))
                except ValueError as exc:
                    park(raw, str(exc))
            recorded += record_batch(events)
            source.ack([token for token, _ in claimed])
            now = time.time()
            metrics.observe_drain_batch(len(claimed), [now - e.created_at for e in events])
    finally:
        source.release()
    metrics.observe_drain_run(recorded, time.time())
    return recorded


def record_batch(events: list[UsageEvent]) -> int:
    """Record ``events``; a batch the database refuses is retried event by event."""
    for attempt in range(3):
        try:
            return record_usage_events(events)
        except IntegrityError:
            # Another drainer recorded some of these (or a rollup row) concurrently.
            if attempt == 2:
                break
        except DatabaseError:
            break
    recorded = 0
    for event in events:
        try:
            recorded += record_usage_events([event])
        except DatabaseError as exc:
            park(event.to_json(), f"{type(exc).__name__}: {exc}", event.request_id)
    return recorded


def park(raw: bytes, error: str, request_id: str = "") -> None:
    """Keep an event the database refused, with why, for an operator to look at."""
    log.error("Usage event %s parked: %s", request_id or "(unreadable)", error)
    metrics.observe_parked()
    text = raw.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
    try:
        DeadUsageEvent.objects.create(
            request_id=request_id[:64], payload=text[:100_000], error=error[:2000]
        )
    except DatabaseError:
        log.exception("Could not park usage event %s", request_id)


def record_usage_events(events: list[UsageEvent]) -> int:
    with transaction.atomic():
        unique = {e.request_id: e for e in events}
        existing = set(
            UsageRecord.objects.filter(request_id__in=list(unique)).values_list(
                "request_id", flat=True
            )
        )
        new = drop_orphans([e for rid, e in unique.items() if rid not in existing])
        if not new:
            return 0
        place_events(new)
        UsageRecord.objects.bulk_create([usage_record_from(e) for e in new])
        update_usage_rollups(new)
        update_latency_rollups(new)
        touch_keys(new)
        usage_recorded.send(sender=UsageEvent, events=new)
    return len(new)


def record_now(event: UsageEvent) -> bool:
    """Record one event at once, in the caller's transaction, idempotently by request id:
    for a change that must not happen without its charge (an OCR job deleted after
    reading pages). False when it was recorded already."""
    try:
        return record_usage_events([event]) == 1
    except IntegrityError:  # a drainer recorded the same request at the same moment
        return False


def drop_orphans(events: list[UsageEvent]) -> list[UsageEvent]:
    """Events of a user deleted since are dropped; of a deleted key, kept without the key."""
    if not events:
        return events
    users = set(
        User.objects.filter(pk__in={e.user_id for e in events}).values_list("pk", flat=True)
    )
    key_ids = {e.api_key_id for e in events} - {None}
    keys = set(ApiKey.objects.filter(pk__in=key_ids).values_list("pk", flat=True))
    kept = []
    for event in events:
        if event.user_id not in users:
            log.warning(
                "Dropping usage event %s of deleted user %s", event.request_id, event.user_id
            )
            continue
        if event.api_key_id not in keys:
            event.api_key_id = None
        kept.append(event)
    return kept


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
    "cost_usd",
    "status",
    "http_status",
    "error_code",
    "latency_ms",
    "ttft_ms",
    "fallbacks",
)


def usage_record_from(event: UsageEvent) -> UsageRecord:
    return UsageRecord(
        user_id=event.user_id,
        api_key_id=event.api_key_id,
        organization_id=event.organization_id,
        project_id=event.project_id,
        created_at=event_time(event),
        **{name: getattr(event, name) for name in RECORD_FIELDS},
    )


def event_time(event: UsageEvent) -> datetime:
    return datetime.fromtimestamp(event.created_at, tz=UTC)


def hour_of(event: UsageEvent) -> datetime:
    return event_time(event).replace(minute=0, second=0, microsecond=0)


ROLLUP_SUMS = ("requests", "errors", "prompt_tokens", "completion_tokens", "units", "cost_usd")


def rollup_totals(events: Iterable[UsageEvent]) -> dict[tuple, dict]:
    groups: dict[tuple, dict] = {}
    for e in events:
        key = (
            hour_of(e),
            e.user_id,
            e.api_key_id,
            e.organization_id,
            e.project_id,
            e.model,
            e.source,
        )
        g = groups.setdefault(key, dict.fromkeys(ROLLUP_SUMS, 0) | {"cost_usd": Decimal(0)})
        g["requests"] += 1
        g["errors"] += e.status == "error"
        g["prompt_tokens"] += e.prompt_tokens
        g["completion_tokens"] += e.completion_tokens
        g["units"] += e.units
        g["cost_usd"] += e.cost_usd
    return groups


def update_usage_rollups(events: list[UsageEvent]) -> None:
    groups = rollup_totals(events)
    rows = {
        (r.hour, r.user_id, r.api_key_id, r.organization_id, r.project_id, r.model, r.source): r
        for r in UsageRollup.objects.select_for_update().filter(
            hour__in={k[0] for k in groups}, user_id__in={k[1] for k in groups}
        )
    }
    to_create, to_update = [], []
    for key, totals in groups.items():
        row = rows.get(key)
        if row is None:
            hour, user_id, key_id, org_id, project_id, model, source = key
            to_create.append(
                UsageRollup(
                    hour=hour,
                    user_id=user_id,
                    api_key_id=key_id,
                    organization_id=org_id,
                    project_id=project_id,
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
    UsageRollup.objects.bulk_update(to_update, list(ROLLUP_SUMS))


LATENCY_FIELDS = (
    "requests",
    "errors",
    "latency_ms_sum",
    "latency_hist",
    "ttft_count",
    "ttft_ms_sum",
    "ttft_hist",
    "output_tokens",
    "generation_ms",
    "overhead_count",
    "overhead_us_sum",
)


def add_latency(row: LatencyRollup, e: UsageEvent) -> None:
    row.requests += 1
    if e.overhead_us is not None:
        row.overhead_count += 1
        row.overhead_us_sum += e.overhead_us
    if e.status == "error":
        row.errors += 1
        return
    row.latency_ms_sum += e.latency_ms
    row.latency_hist = add_to_histogram(row.latency_hist, e.latency_ms)
    if e.ttft_ms is not None:
        row.ttft_count += 1
        row.ttft_ms_sum += e.ttft_ms
        row.ttft_hist = add_to_histogram(row.ttft_hist, e.ttft_ms)
    generation = e.latency_ms - e.ttft_ms if e.ttft_ms is not None and e.stream else e.latency_ms
    if e.completion_tokens and generation > 0:
        row.output_tokens += e.completion_tokens
        row.generation_ms += generation


def update_latency_rollups(events: list[UsageEvent]) -> None:
    groups: dict[tuple, list[UsageEvent]] = {}
    for e in events:
        if e.provider and e.endpoint != "rejected":
            groups.setdefault((hour_of(e), e.model, e.provider), []).append(e)
    if not groups:
        return
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
                hour=key[0], model=key[1], provider=key[2], latency_hist={}, ttft_hist={}
            )
            to_create.append(row)
        else:
            to_update.append(row)
        for e in items:
            add_latency(row, e)
    LatencyRollup.objects.bulk_create(to_create)
    LatencyRollup.objects.bulk_update(to_update, list(LATENCY_FIELDS))


def touch_keys(events: list[UsageEvent]) -> None:
    """``last_used_at`` is written here, in bulk, never once per request."""
    latest: dict[int, float] = {}
    for e in events:
        if e.api_key_id:
            latest[e.api_key_id] = max(latest.get(e.api_key_id, 0), e.created_at)
    for key_id, ts in latest.items():
        # Through the queryset: a key's save() signal would invalidate its snapshot.
        ApiKey.objects.filter(pk=key_id).update(last_used_at=datetime.fromtimestamp(ts, tz=UTC))
