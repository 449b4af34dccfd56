"""Real processes for tests: Portico's ASGI server and a Celery worker on the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def wait_for(
    condition: Callable[[], object],
    *,
    timeout: float = 20,
    interval: float = 0.05,
    what: str = "condition",
):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_env() -> dict[str, str]:
    """Environment that points a child process at the test database the suite uses."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return {"SQLITE_PATH": str(db["NAME"]), "DATABASE_URL": ""}
    parts = urlsplit(settings.DATABASE_URL)
    return {"DATABASE_URL": urlunsplit(parts._replace(path="/" + db["NAME"]))}


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    # Only the test process needs it (Playwright's loop); servers must catch ORM-in-async bugs.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(test_database_env())
    # A parallel run's worker: the child gets this worker's files, cache keys and queues.
    if worker := env.pop("PYTEST_XDIST_WORKER", None):
        env["PORTICO_VAR_DIR"] = str(settings.VAR_DIR)
        env["CACHE_KEY_PREFIX"] = settings.CACHES["default"].get("KEY_PREFIX", "")
        env.setdefault("CELERY_BROKER_KEY_PREFIX", worker)
    env.setdefault("PORTICO_VAR_DIR", str(settings.VAR_DIR))
    env.update({"PYTHONUNBUFFERED": "1", "DEBUG": "1"})
    env.update(extra)
    return env


class ChildProcess:
    """A child process whose output is kept (last lines) for failure messages."""

    def __init__(self, args: list[str], env: dict[str, str], name: str) -> None:
        self.name = name
        self.lines: deque[str] = deque(maxlen=400)
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def output(self) -> str:
        return "\n".join(self.lines)

    def saw(self, text: str) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(
                f"{self.name} exited with {self.proc.returncode}:\n{self.output()}"
            )
        return any(text in line for line in list(self.lines))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class PorticoServer(ChildProcess):
    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [
            str(VENV_BIN / "uvicorn"),
            "portal.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        super().__init__(args, env, "portico server")

    def wait_ready(self, timeout: float = 30) -> None:
        def up() -> bool:
            self.saw("")  # raises if the process died
            try:
                return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_for(up, timeout=timeout, what="the Portico server to answer /healthz")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.output()}") from None


class CeleryWorker(ChildProcess):
    def __init__(
        self,
        env: dict[str, str],
        *,
        concurrency: int = 1,
        queues: str = "",
        extra: tuple[str, ...] = (),
    ) -> None:
        args = [
            str(VENV_BIN / "celery"),
            "-A",
            "portal",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname=test-{os.getpid()}-{free_port()}@%h",
            *(["-Q", queues] if queues else []),
            *extra,
        ]
        super().__init__(args, env, "celery worker")

    def wait_ready(self, timeout: float = 60) -> None:
        try:
            wait_for(lambda: self.saw(" ready."), timeout=timeout, what="the Celery worker")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.output()}") from None
