"""The embedded Celery broker and result store: files in a folder, written atomically.

kombu's ``filesystem`` transport creates a message file and only then writes into it,
so a worker polling the folder can pick up an empty or half-written file and die on a
``JSONDecodeError`` (an open kombu issue); it also claims messages by moving them to
the temporary folder, which is a copy when ``/tmp`` is another file system, and
rewrites exchange tables in place. Celery's ``file://`` result backend has the same
open-then-write race. This transport and backend fix those:

- a message is written to a temporary file and renamed into the queue folder, so a
  reader sees the whole message or nothing;
- a consumer claims a message by renaming it into ``.claimed/`` (same file system), which
  exactly one consumer can win, and deletes it when the message is acknowledged; messages
  claimed by a process that has died (a worker killed with SIGKILL) are queued again, so
  ``acks_late`` tasks are redelivered as with Redis;
- exchange tables are replaced by rename under a lock file;
- a file that still cannot be decoded (a disk fault, a file left by the old transport)
  is moved aside to ``corrupt/`` with a warning instead of stopping the worker.

``CELERY_BROKER_URL=portico-files://`` selects the transport (registered below when
``portal.celery`` imports this module); the result backend is
``portal.broker.AtomicFileBackend+file:///path``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path
from queue import Empty

from celery.backends.filesystem import FilesystemBackend
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import ensure_bytes
from kombu.utils.objects import cached_property

logger = logging.getLogger(__name__)

TRANSPORT_ALIASES["portico-files"] = "portal.broker:Transport"
# How often a consumer looks for messages claimed by processes that have died.
RECOVERY_SECONDS = 10.0


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (dead, not yet reaped by its parent) holds nothing.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def write_atomically(path: str | os.PathLike, data: bytes, tmp_dir: str | os.PathLike) -> None:
    """Write ``data`` to ``path`` so that readers see the old file, or all of the new one.

    ``tmp_dir`` must be on the same file system as ``path`` (rename is atomic only there).
    """
    tmp = os.path.join(tmp_dir, f".tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class Channel(filesystem.Channel):
    """kombu's file-system channel with atomic writes and atomic claims."""

    def _folder(self, base: str, name: str) -> str:
        path = os.path.join(base, name)
        os.makedirs(path, exist_ok=True)
        return path

    # --- messages ---------------------------------------------------------------------
    def _put(self, queue, payload, **kwargs):
        # Nanoseconds, zero-padded: file names sort in the order messages were sent.
        name = f"{time.time_ns():020d}_{uuid.uuid4().hex}.{queue}.msg"
        try:
            write_atomically(
                os.path.join(self.data_folder_out, name),
                json.dumps(payload).encode(),
                self._folder(self.data_folder_out, ".tmp"),
            )
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add message {name!r} to the queue") from exc

    def _get(self, queue):
        wanted = f"{queue}.msg"
        claimed_dir = self._folder(self.data_folder_in, ".claimed")
        self._recover_orphans(claimed_dir)
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(claimed_dir, f"{os.getpid()}-{name}")
            try:
                # Whoever renames the file owns the message; the others move on.
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except FileNotFoundError:
                continue
            try:
                with open(claimed, "rb") as f:
                    payload = f.read()
                message = json.loads(payload)
                tag = message["properties"]["delivery_tag"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self._set_aside(claimed, name, exc)
                continue
            if queue in self._no_ack_queues:
                self._settle(claimed)
            else:
                # Kept until acked: if this process dies first, the message goes back.
                self._claimed[tag] = claimed
            return message
        raise Empty()

    # --- acknowledgements: a claimed file lives until its message is settled ------------
    @cached_property
    def _claimed(self) -> dict[str, str]:
        return {}

    @cached_property
    def _no_ack_queues(self) -> set[str]:
        return set()

    def _settle(self, path: str | None) -> None:
        if path:
            with suppress(FileNotFoundError):
                os.unlink(path)

    def basic_consume(self, queue, no_ack, *args, **kwargs):
        if no_ack:
            self._no_ack_queues.add(queue)
        return super().basic_consume(queue, no_ack, *args, **kwargs)

    def basic_get(self, queue, no_ack=False, **kwargs):
        message = super().basic_get(queue, no_ack=no_ack, **kwargs)
        if message is not None and no_ack:
            self._settle(self._claimed.pop(message.delivery_tag, None))
        return message

    def basic_ack(self, delivery_tag, multiple=False):
        super().basic_ack(delivery_tag, multiple=multiple)
        self._settle(self._claimed.pop(delivery_tag, None))

    def basic_reject(self, delivery_tag, requeue=False):
        # With requeue the virtual channel has put a copy back (_restore) already.
        super().basic_reject(delivery_tag, requeue=requeue)
        self._settle(self._claimed.pop(delivery_tag, None))

    def _restore(self, message):
        # Unacked messages at shutdown, or a requeue: the copy is queued, the claim goes.
        super()._restore(message)
        self._settle(self._claimed.pop(message.delivery_tag, None))

    def _recover_orphans(self, claimed_dir: str) -> None:
        """Put back the messages claimed by processes that died before settling them."""
        now = time.monotonic()
        if now < getattr(self, "_next_recovery", 0):
            return
        self._next_recovery = now + RECOVERY_SECONDS
        for claim in os.listdir(claimed_dir):
            pid, _, name = claim.partition("-")
            if not pid.isdigit() or process_alive(int(pid)):
                continue
            with suppress(FileNotFoundError):
                os.rename(os.path.join(claimed_dir, claim), os.path.join(self.data_folder_in, name))
                logger.warning(
                    "Broker message %s was claimed by a process that died; queued again", name
                )

    def _set_aside(self, path: str, name: str, exc: Exception) -> None:
        corrupt = self._folder(os.path.dirname(os.path.normpath(self.data_folder_in)), "corrupt")
        logger.warning("Broker message %s is unreadable (%s); moved to %s", name, exc, corrupt)
        with suppress(FileNotFoundError):
            os.replace(path, os.path.join(corrupt, name))

    # --- exchange tables (which queues an exchange routes to) ---------------------------
    @contextmanager
    def _tables_locked(self):
        folder = self.control_folder
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a") as lock_file:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)

    def get_table(self, exchange):
        try:
            rows = json.loads(self._exchange_file(exchange).read_bytes())
        except FileNotFoundError:
            return []
        return [filesystem.exchange_queue_t(*row) for row in rows]

    def _write_table(self, exchange, rows) -> None:
        write_atomically(
            self._exchange_file(exchange), json.dumps(rows).encode(), self.control_folder
        )

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        row = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._tables_locked():
            rows = self.get_table(exchange)
            if row not in rows:
                self._write_table(exchange, [row, *rows])

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        # The virtual channel's bookkeeping, not the file-system one (which rewrites in place).
        super(filesystem.Channel, self)._delete(
            queue, exchange, routing_key, pattern, *args, **kwargs
        )
        row = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._tables_locked():
            rows = self.get_table(exchange)
            if row in rows:
                self._write_table(exchange, [r for r in rows if r != row])


class Transport(filesystem.Transport):
    Channel = Channel
    global_state = filesystem.virtual.BrokerState()
    driver_name = "portico-files"


class AtomicFileBackend(FilesystemBackend):
    """Celery's ``file://`` result backend, writing each result by rename."""

    def set(self, key, value):
        write_atomically(
            os.fsdecode(self._filename(key)), ensure_bytes(value), os.fsdecode(self.path)
        )


def folders(base: Path) -> dict[str, str]:
    """Transport options for a broker kept under ``base`` (created if missing)."""
    for sub in ("queue", "control", "results"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(base / "queue"),
        "data_folder_out": str(base / "queue"),
        "control_folder": str(base / "control"),
        "processed_folder": str(base / "queue"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
