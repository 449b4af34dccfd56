"""Fuzz ``/v1`` with schemathesis against its own OpenAPI schema (``make fuzz``).

Starts the embedded default (SQLite, in a temporary folder) with the demo data, mints a
key with every scope and a generous rate limit, then lets schemathesis generate requests
from ``/v1/openapi.json`` for ``--minutes`` and check every answer: no server error, a
status the schema declares, a body that matches it, the declared content type. Prints
the summary; exits non-zero when a check failed. Not part of ``make test``.

    .venv/bin/python bench/fuzz_api.py --minutes 10
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    return subprocess.run(
        [str(BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="portico-fuzz-"))
    env = {
        **os.environ,
        "PORTICO_VAR_DIR": str(var),
        "CELERY_TASK_ALWAYS_EAGER": "1",  # OCR and retrieval work inline: no worker needed
        "DEBUG": "1",
        "DEFAULT_KEY_RPM": "1000000",
        "AUTH_FAILURES_PER_MINUTE": "1000000",
        "LOCAL_MODEL_FIRST_TOKEN_MS": "0",
        "LOCAL_MODEL_TOKENS_PER_SECOND": "100000",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "bootstrap")
    key = json.loads(
        manage(env, "createapikey", "--user", "demo@portico.local", "--name", "fuzz", "--json")
    )["key"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(BIN / "uvicorn"),
            "portal.asgi:application",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_ready(url)
        started = time.monotonic()
        result = subprocess.run(
            [
                str(BIN / "st"),
                "run",
                f"{url}/v1/openapi.json",
                "--header",
                f"Authorization: Bearer {key}",
                "--checks",
                "all",
                # Request bodies are declared loosely (any JSON object) and URLs with control
                # characters are refused on purpose: "valid by the schema but refused" says
                # nothing about the server. Server errors and response conformance are checked.
                "--exclude-checks",
                "positive_data_acceptance",
                "--max-time",
                str(int(args.minutes * 60)),
                "--workers",
                str(args.workers),
                "--request-timeout",
                "30",
            ],
            cwd=ROOT,
            env=env,
        )
        print(
            f"\nfuzzed for {time.monotonic() - started:.0f} s; schemathesis exit {result.returncode}"
        )
        return result.returncode
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
