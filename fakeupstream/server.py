"""Running the fake upstream: in a background thread, or as a ``python -m fakeupstream``
subprocess; and an HTTP client for its control API that works against either."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Self

import httpx
import orjson
import uvicorn

from fakeupstream.app import FakeUpstreamApp

LISTENING_PREFIX = "LISTENING "
UVICORN_OPTIONS: dict[str, Any] = {
    "loop": "uvloop",
    "http": "httptools",
    "log_level": "warning",
    "access_log": False,
    "lifespan": "off",  # nothing to set up; and a forced stop would log a cancelled lifespan
    "timeout_graceful_shutdown": 1,
    "backlog": 4096,
}


def bind_socket(host: str, port: int, backlog: int = 4096) -> socket.socket:
    """A listening TCP socket (``port=0`` picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def socket_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class FakeUpstreamClient:
    """Talks to a running fake upstream's control API over HTTP.

    ``url`` is the server root (``http://127.0.0.1:PORT``); the OpenAI / Anthropic base
    URL is :attr:`base_url` (``url + "/v1"``).
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout, trust_env=False)

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        response = self._http.request(method, path, json=payload)
        if response.status_code >= 400:
            raise ValueError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response.json()

    def configure(self, **config: Any) -> dict[str, Any]:
        """Merge settings (see README); returns the whole new configuration."""
        return self._call("POST", "/_control/config", config)

    def config(self) -> dict[str, Any]:
        return self._call("GET", "/_control/config")

    def reset(self) -> dict[str, Any]:
        """Back to the startup configuration; clears the tally and the request log."""
        return self._call("POST", "/_control/reset")

    def reset_tally(self) -> dict[str, Any]:
        return self._call("POST", "/_control/tally/reset")

    def tally(self) -> dict[str, Any]:
        return self._call("GET", "/_control/tally")

    def last_request(self) -> dict[str, Any] | None:
        return self._call("GET", "/_control/last_request")

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_control/requests")

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._call("GET", "/_control/health")
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def close(self) -> None:
        self._http.close()

    def stop(self) -> None:
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FakeUpstream(FakeUpstreamClient):
    """A fake upstream served by uvicorn in a daemon thread with its own event loop."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, url: str) -> None:
        super().__init__(url)
        self.server = server
        self.thread = thread

    @property
    def app(self) -> FakeUpstreamApp:
        return self.server.config.app

    @classmethod
    def start(
        cls, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0, **config: Any
    ) -> FakeUpstream:
        """Serve on ``host:port`` (0 = a free port); ``config`` is the startup config."""
        app = FakeUpstreamApp(config)
        sock = bind_socket(host, port)
        # log_config=None: leave the host process's logging configuration alone.
        server = uvicorn.Server(uvicorn.Config(app, log_config=None, **UVICORN_OPTIONS))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="fakeupstream", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError("fakeupstream server thread failed to start")
            time.sleep(0.002)
        return cls(server, thread, socket_url(sock))

    @staticmethod
    def start_process(timeout: float = 20.0, **cli_args: Any) -> FakeUpstreamProcess:
        """Launch ``python -m fakeupstream`` with ``--key value`` for each keyword
        (``latency_ms=5`` → ``--latency-ms 5``; lists are comma-joined, dicts JSON)."""
        return FakeUpstreamProcess.launch(timeout=timeout, **cli_args)

    def stop(self) -> None:
        self.server.should_exit = True
        self.server.force_exit = True  # don't wait for hanging / streaming requests
        self.thread.join(timeout=10)
        super().stop()


def _cli_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    if isinstance(value, Mapping):
        return orjson.dumps(value).decode()
    return str(value)


class FakeUpstreamProcess(FakeUpstreamClient):
    """A fake upstream running as a ``python -m fakeupstream`` subprocess."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        super().__init__(url)
        self.process = process

    @classmethod
    def launch(
        cls, timeout: float = 20.0, python: str = sys.executable, **cli_args: Any
    ) -> FakeUpstreamProcess:
        args = {"host": "127.0.0.1", "port": 0, **cli_args}
        cmd = [python, "-m", "fakeupstream"]
        for key, value in args.items():
            if value is not None:
                cmd += [f"--{key.replace('_', '-')}", _cli_value(value)]
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
        assert process.stdout is not None
        lines = _drain_lines(process.stdout)
        try:
            url = _await_listening(lines, process, timeout)
        except BaseException:
            process.kill()
            process.wait()
            raise
        return cls(process, url)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        super().stop()


def _drain_lines(stream: IO[str]) -> queue.Queue[str | None]:
    """Read a child's stdout in a daemon thread so it can never block on a full pipe."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        with contextlib.suppress(ValueError, OSError):
            for line in stream:
                lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name="fakeupstream-stdout", daemon=True).start()
    return lines


def _await_listening(
    lines: queue.Queue[str | None], process: subprocess.Popen[str], timeout: float
) -> str:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("fakeupstream did not report LISTENING in time")
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line is None:
            raise RuntimeError(f"fakeupstream exited early with code {process.wait()}")
        if line.startswith(LISTENING_PREFIX):
            return line[len(LISTENING_PREFIX) :].strip()
