"""The embedded default's usage spool: append-only segment files, one writer each.

Without Redis, a web process makes its usage events durable in a folder
(``USAGE_SPOOL_DIR``) the worker drains:

* **Writing** (``append``): each process appends one line per event (the event's JSON,
  which never contains a raw newline, then ``\\n``) to its own *segment* with a single
  ``write(2)`` on an ``O_APPEND`` descriptor: no file creation, rename or directory
  update per request (one file per event cost 35 µs–0.7 ms on ext4, most of a priced
  request's time). A process killed after answering loses nothing: the line is in the
  page cache. A process killed *inside* the write can leave a torn last line, which the
  drain parks once the segment is sealed.
* **Rotating**: a process opens a new segment when its current one is ``ROTATE_SECONDS``
  old or ``ROTATE_BYTES`` long, when it finds it was deleted (``fstat`` link count 0,
  checked before each write), and in a forked child. So no write reaches a segment more
  than ``ROTATE_SECONDS`` after the time in its name: past ``SEALED_AFTER`` (and with no
  write for as long) a segment is *sealed*.
* **Draining** (``SpoolSource``): one drainer at a time (an ``flock`` on
  ``.drain.lock``) reads each segment from its offset (``.<segment>.off``, rewritten by
  an atomic rename *after* the batch is committed), complete lines only, so segments
  being written are read in place, milliseconds after the write. A crash between commit
  and offset update re-reads a batch, which the drain ignores by request id. Sealed,
  fully drained segments are deleted.
* **Reading without draining** (``pending``): pages list what waits, newest included.

Event files of the earlier layout (one ``*.json`` per event) are still drained.
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import threading
import time
from pathlib import Path

ROTATE_SECONDS = 30
ROTATE_BYTES = 8 << 20
SEALED_AFTER = ROTATE_SECONDS + 300  # and as long without a write: margin for stalls, clocks
SUFFIX = ".seg"
LOCK_NAME = ".drain.lock"
LOCK_WAIT_SECONDS = 30.0
PENDING_READ_BYTES = 4 << 20
CLAIMED_FILE_TTL = 60  # a drainer that died holding event files: taken back after this

Claimed = tuple[object, bytes]


# --- Writing ------------------------------------------------------------------------------------
class SegmentWriter:
    """This process's open segment; ``append`` is thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fd = -1
        self.folder = ""
        self.opened = 0.0

    def append(self, folder: str, line: bytes) -> None:
        with self.lock:
            if self.fd < 0 or not self._usable(folder):
                self._open(folder)
            view = memoryview(line)
            while view:  # a regular file takes it whole unless the disk is full
                view = view[os.write(self.fd, view) :]

    def _usable(self, folder: str) -> bool:
        if folder != self.folder or time.monotonic() - self.opened >= ROTATE_SECONDS:
            return False
        status = os.fstat(self.fd)
        # Not deleted (tests discard the folder) and not full.
        return status.st_nlink > 0 and status.st_size < ROTATE_BYTES

    def _open(self, folder: str) -> None:
        self.close()
        os.makedirs(folder, exist_ok=True)
        host = re.sub(r"[^0-9A-Za-z_-]", "_", socket.gethostname())[:40] or "host"
        name = f"{time.time_ns():020d}-{host}-{os.getpid()}{SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        self.fd = os.open(os.path.join(folder, name), flags, 0o644)
        self.folder, self.opened = folder, time.monotonic()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
        self.fd = -1

    def forget_after_fork(self) -> None:
        """A forked child writes its own segment (the parent keeps writing the old one)."""
        self.lock = threading.Lock()
        self.close()


writer = SegmentWriter()
os.register_at_fork(after_in_child=writer.forget_after_fork)


def append(folder: str, payload: bytes) -> None:
    """Make one event durable: a line in this process's segment."""
    writer.append(folder, payload + b"\n")


# --- Draining ---------------------------------------------------------------------------------
class SpoolSource:
    """Claims events for ``usage.drain``; holds the drain lock until ``release``."""

    def __init__(self, folder: Path, lock_wait: float = LOCK_WAIT_SECONDS) -> None:
        self.folder = folder
        self.lock_wait = lock_wait  # 0: another drainer at work means there is nothing to do
        self.lock_fd = -1

    # The drain's interface: claim, ack, release.
    def claim(self, limit: int) -> list[Claimed]:
        if not self.folder.exists() or not self._lock():
            return []
        claimed: list[Claimed] = []
        for segment in self._segments():
            if len(claimed) >= limit:
                break
            claimed.extend(self._read(segment, limit - len(claimed), with_torn_tail=True))
        if len(claimed) < limit:
            claimed.extend(self._claim_event_files(limit - len(claimed)))
        return claimed

    def ack(self, tokens: list[object]) -> None:
        ends: dict[Path, int] = {}
        for token in tokens:
            if isinstance(token, tuple):
                segment, end = token
                ends[segment] = max(end, ends.get(segment, 0))
            else:
                Path(token).unlink(missing_ok=True)
        for segment, end in ends.items():
            write_offset(segment, end)

    def release(self) -> None:
        if self.lock_fd >= 0:
            self._delete_drained_segments()
            os.close(self.lock_fd)  # closing drops the flock
            self.lock_fd = -1

    # Reading in place.
    def pending(self, limit: int = 5000) -> list[bytes]:
        """Events not drained yet, left in place (read-your-writes for pages): the newest
        ``limit`` of them, from at most ``PENDING_READ_BYTES`` of the newest segments (a
        worker down for hours must not make every page read its backlog)."""
        found: list[bytes] = []
        budget = PENDING_READ_BYTES
        for segment in reversed(self._segments()):
            if budget <= 0 or len(found) >= limit:
                break
            try:
                with open(segment, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    start = read_offset(segment)
                    begin = max(start, size - budget)
                    f.seek(begin)
                    data = f.read(size - begin)
            except FileNotFoundError:
                continue
            budget -= len(data)
            if begin > start:  # started mid-line: the first (partial) line is not ours
                data = data[data.find(b"\n") + 1 :] if b"\n" in data else b""
            found[:0] = data.split(b"\n")[:-1]  # complete lines only
        if self.folder.exists():
            for path in self._event_files():
                try:
                    found.append(path.read_bytes())
                except FileNotFoundError:
                    continue
        return found[-limit:]

    def pending_count(self) -> int:
        """How many events wait (``/metrics``): undrained lines, counted in chunks."""
        count = 0
        for segment in self._segments():
            try:
                with open(segment, "rb") as f:
                    f.seek(read_offset(segment))
                    while chunk := f.read(1 << 20):
                        count += chunk.count(b"\n")
            except FileNotFoundError:
                continue
        return count + (len(self._event_files()) if self.folder.exists() else 0)

    def _segments(self) -> list[Path]:
        try:
            names = sorted(n for n in os.listdir(self.folder) if n.endswith(SUFFIX))
        except FileNotFoundError:
            return []
        return [self.folder / n for n in names]

    def _read(self, segment: Path, limit: int | None, with_torn_tail=False) -> list[Claimed]:
        """Complete lines after the segment's offset, each with its end offset as token;
        with ``with_torn_tail``, a sealed segment's unterminated tail too (to be parked)."""
        start = read_offset(segment)
        try:
            with open(segment, "rb") as f:
                f.seek(start)
                data = f.read()
        except FileNotFoundError:
            return []
        lines: list[Claimed] = []
        position = 0
        while limit is None or len(lines) < limit:
            end = data.find(b"\n", position)
            if end < 0:
                break
            lines.append(((segment, start + end + 1), data[position:end]))
            position = end + 1
        torn = data[position:]
        room = limit is None or len(lines) < limit
        if with_torn_tail and torn and room and is_sealed(segment):
            lines.append(((segment, start + len(data)), torn))
        return lines

    def _delete_drained_segments(self) -> None:
        for segment in self._segments():
            try:
                drained = read_offset(segment) >= segment.stat().st_size
            except FileNotFoundError:
                continue
            if drained and is_sealed(segment):
                segment.unlink(missing_ok=True)
                offset_path(segment).unlink(missing_ok=True)

    def _lock(self) -> bool:
        """Take the drain lock (waiting up to ``lock_wait`` seconds for another drainer)."""
        if self.lock_fd >= 0:
            return True
        fd = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        deadline = time.monotonic() + self.lock_wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.02)
                continue
            self.lock_fd = fd
            return True

    # Event files of the earlier layout, one per event.
    def _event_files(self) -> list[Path]:
        return [self.folder / n for n in sorted(os.listdir(self.folder)) if n.endswith(".json")]

    def _claim_event_files(self, limit: int) -> list[Claimed]:
        claimed: list[Claimed] = []
        mine = f".claimed-{os.getpid()}-"
        now = time.time()
        for path in sorted(self.folder.iterdir()):
            if len(claimed) >= limit:
                break
            name = path.name
            if name.startswith(".claimed-"):
                try:  # a drainer that died mid-batch: take its files back
                    if now - path.stat().st_mtime < CLAIMED_FILE_TTL:
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
                claimed.append((target, target.read_bytes()))
            except FileNotFoundError:
                continue  # another drainer took it
        return claimed


def is_sealed(segment: Path) -> bool:
    """No write can reach ``segment`` any more (see the module's docstring)."""
    try:
        created = int(segment.name.split("-", 1)[0]) / 1e9
        modified = segment.stat().st_mtime
    except (ValueError, FileNotFoundError):
        return True
    now = time.time()
    return now - created > SEALED_AFTER and now - modified > SEALED_AFTER - ROTATE_SECONDS


def offset_path(segment: Path) -> Path:
    return segment.with_name(f".{segment.name}.off")


def read_offset(segment: Path) -> int:
    try:
        return int(offset_path(segment).read_bytes() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def write_offset(segment: Path, end: int) -> None:
    """Atomically: a reader sees the old offset or the new one, never a partial one."""
    target = offset_path(segment)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_bytes(str(end).encode())
    os.replace(temporary, target)
