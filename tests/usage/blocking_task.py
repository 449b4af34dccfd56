"""A task for tests only (a worker loads it with ``--include``): it holds its worker
process until a file appears, like a long OCR page does."""

from __future__ import annotations

import time
from pathlib import Path

from portal.celery import app


@app.task(name="tests.hold_until")
def hold_until(started: str, release: str, limit: float = 120) -> None:
    Path(started).touch()
    deadline = time.monotonic() + limit
    while not Path(release).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
