"""The embedded Celery broker and result store: files in a folder, written atomically.

kombu's ``filesystem`` transport creates a message file and only then writes into it,
so a worker polling the folder can pick up an empty or half-written file and die on a
``JSONDecodeError`` (an open kombu issue); it also claims messages by moving them to
the temporary folder, which is a copy when ``/tmp`` is another file system, and
rewrites exchange tables in place. Celery's ``file://`` result backend has the same
open-then-write race. This transport and backend fix those:

- a message is written to a temporary file and renamed into the queue folder, so a
  reader sees the whole message or nothing;
- a consumer claims a message by renaming it into a folder on the same file system,
  which exactly one consumer can win;
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

logger = logging.getLogger(__name__)

TRANSPORT_ALIASES["portico-files"] = "portal.broker:Transport"


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
            except (OSError, ValueError) as exc:
                self._set_aside(claimed, name, exc)
                continue
            with suppress(FileNotFoundError):
                os.unlink(claimed)
            return message
        raise Empty()

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
