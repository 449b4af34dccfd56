"""The embedded spool: events appended to per-process segments, drained in place by
offset, never lost and never recorded twice — across processes, kills and rotations."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.usage import usage_event
from usage import drain, spool
from usage.drain import drain_usage, pending_count, pending_events
from usage.events import emit_sync
from usage.models import DeadUsageEvent, UsageRecord

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def spool_dir(settings, tmp_path):
    """Every test here uses the embedded spool, on SQLite and on PostgreSQL + Redis."""
    settings.REDIS_URL = ""
    settings.USAGE_SPOOL_DIR = tmp_path / "spool"
    yield settings.USAGE_SPOOL_DIR
    spool.writer.close()


def segments(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.seg"))


def age(path: Path, seconds: float) -> Path:
    """Make ``path`` look ``seconds`` old, by its name and its modification time."""
    created = int(path.name.split("-", 1)[0]) - int(seconds * 1e9)
    old = path.with_name(f"{created:020d}-{path.name.split('-', 1)[1]}")
    path.rename(old)
    os.utime(old, (time.time() - seconds, time.time() - seconds))
    return old


def test_events_are_drained_in_place_while_the_segment_stays_open(alice, spool_dir):
    first = [usage_event(alice) for _ in range(3)]
    for event in first:
        emit_sync(event)
    assert pending_count() == 3
    assert drain_usage() == 3
    later = usage_event(alice)
    emit_sync(later)  # the same open segment, after its offset
    assert len(segments(spool_dir)) == 1
    assert [e.request_id for e in pending_events(alice.pk)] == [later.request_id]
    assert drain_usage() == 1
    assert UsageRecord.objects.count() == 4 and pending_count() == 0
    assert segments(spool_dir), "an unsealed segment is kept: its writer may append"


def test_two_processes_appending_while_a_drain_runs_lose_and_repeat_nothing(alice, spool_dir):
    events = [usage_event(alice) for _ in range(400)]
    lines = [e.to_json() for e in events]
    children = []
    for half in (lines[:200], lines[200:]):
        pid = os.fork()
        if pid == 0:  # a second writer process: its own segment (the fork hook)
            try:
                for line in half:
                    spool.append(str(spool_dir), line)
            finally:
                os._exit(0)
        children.append(pid)
    recorded = 0
    running = set(children)
    while running:  # drain while they write
        recorded += drain_usage(batch=50)
        running = {pid for pid in running if os.waitpid(pid, os.WNOHANG) == (0, 0)}
    recorded += drain_usage(batch=50)
    assert recorded == 400
    assert len(segments(spool_dir)) == 2
    stored = set(UsageRecord.objects.values_list("request_id", flat=True))
    assert stored == {e.request_id for e in events}


def test_a_writer_killed_mid_line_loses_only_that_line_which_is_parked_once_sealed(
    alice, spool_dir
):
    events = [usage_event(alice) for _ in range(5)]
    payload = b"\n".join(e.to_json() for e in events)
    script = (
        "import os, sys\n"
        "from usage import spool\n"
        "data = sys.stdin.buffer.read()\n"
        "for line in data.split(b'\\n'):\n"
        f"    spool.append({str(spool_dir)!r}, line)\n"
        'os.write(spool.writer.fd, b\'{"request_id": "req_torn", "user\')\n'
        "os.kill(os.getpid(), 9)\n"
    )
    child = subprocess.run([sys.executable, "-c", script], input=payload, cwd=ROOT, check=False)
    assert child.returncode == -signal.SIGKILL
    assert drain_usage() == 5, "every complete line is recorded"
    assert not DeadUsageEvent.objects.exists(), "the torn tail waits: its writer may finish"

    [segment] = segments(spool_dir)
    age(segment, spool.SEALED_AFTER + 1)
    assert drain_usage() == 0
    parked = DeadUsageEvent.objects.get()
    assert "req_torn" in parked.payload and parked.error.startswith("not JSON")
    assert segments(spool_dir) == [], "sealed and fully drained: deleted"
    assert UsageRecord.objects.count() == 5


def test_a_crash_between_commit_and_offset_records_nothing_twice(alice, monkeypatch):
    events = [usage_event(alice) for _ in range(4)]
    for event in events:
        emit_sync(event)

    def crash(self, tokens):
        raise RuntimeError("killed before the offset was written")

    monkeypatch.setattr(spool.SpoolSource, "ack", crash)
    with pytest.raises(RuntimeError):
        drain_usage()
    assert UsageRecord.objects.count() == 4
    monkeypatch.undo()
    assert drain_usage() == 0  # read again, recognised by request id
    assert UsageRecord.objects.count() == 4 and pending_count() == 0


def test_a_writer_moves_on_when_its_segment_is_deleted_or_old_or_full(
    alice, spool_dir, monkeypatch
):
    emit_sync(usage_event(alice))
    drain.discard_pending_events()  # the folder goes, with the open segment
    kept = usage_event(alice)
    emit_sync(kept)
    assert [e.request_id for e in pending_events(alice.pk)] == [kept.request_id]

    monkeypatch.setattr(spool, "ROTATE_BYTES", 1)
    emit_sync(usage_event(alice))
    emit_sync(usage_event(alice))
    assert len(segments(spool_dir)) == 3
    monkeypatch.setattr(spool, "ROTATE_BYTES", 8 << 20)
    monkeypatch.setattr(spool, "ROTATE_SECONDS", 0)
    emit_sync(usage_event(alice))
    assert len(segments(spool_dir)) == 4
    assert drain_usage() == 4


def test_only_sealed_drained_segments_are_deleted(alice, spool_dir):
    emit_sync(usage_event(alice))
    spool.writer.close()
    [old] = segments(spool_dir)
    old = age(old, spool.SEALED_AFTER + 1)
    emit_sync(usage_event(alice))  # a new segment: the writer closed its old one
    assert len(segments(spool_dir)) == 2
    assert drain_usage() == 2
    assert segments(spool_dir) != [] and old not in segments(spool_dir)
    assert not list(spool_dir.glob(f".{old.name}.off"))


def test_event_files_of_the_earlier_layout_are_still_drained(alice, spool_dir):
    event = usage_event(alice)
    spool_dir.mkdir(parents=True)
    (spool_dir / f"{time.time_ns():020d}-{event.request_id}.json").write_bytes(event.to_json())
    emit_sync(usage_event(alice))
    assert pending_count() == 2 and len(pending_events(alice.pk)) == 2
    assert drain_usage() == 2
    assert not list(spool_dir.glob("*.json"))


def test_a_second_drainer_waits_for_the_first_or_leaves_it_the_work(alice, spool_dir):
    emit_sync(usage_event(alice))
    holder = spool.SpoolSource(spool_dir)
    assert holder.claim(10)
    assert spool.SpoolSource(spool_dir, lock_wait=0.1).claim(10) == [], "one at a time"
    started = time.monotonic()
    assert drain_usage(wait=False) == 0, "the periodic task leaves it to the one at work"
    assert time.monotonic() - started < 10, "not the 30 s a waiting drainer allows"
    holder.release()
    assert drain_usage() == 1


def test_pages_read_only_the_newest_of_a_large_backlog(alice, spool_dir, monkeypatch):
    events = [usage_event(alice, created_at=time.time() + i) for i in range(50)]
    for event in events:
        emit_sync(event)
    line = len(events[0].to_json()) + 1
    monkeypatch.setattr(spool, "PENDING_READ_BYTES", line * 10 + line // 2)
    newest = [e.request_id for e in pending_events(alice.pk)]
    assert newest == [e.request_id for e in reversed(events[-10:])]
    assert pending_count() == 50, "the gauge still counts every waiting event"


def test_line_breaks_inside_an_event_stay_inside_its_line(alice, spool_dir):
    odd = usage_event(alice, model="a\nb\r\nc\u2028d", error_code="x\n\ny")
    emit_sync(odd)
    emit_sync(usage_event(alice))
    [segment] = segments(spool_dir)
    assert segment.read_bytes().count(b"\n") == 2, "one line per event"
    assert drain_usage() == 2
    assert UsageRecord.objects.get(request_id=odd.request_id).model == odd.model
