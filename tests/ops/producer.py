"""A producer process for the broker test: ``python -m tests.ops.producer ID COUNT``.

Sends COUNT tasks (``celery.accumulate``, which returns its arguments) to the broker
configured by the environment, waits for every result and prints one line:
``ok <producer id> <results that came back right>``.
"""

from __future__ import annotations

import sys

from portal.celery import app


def main(producer: int, count: int) -> None:
    sent = [(n, app.send_task("celery.accumulate", args=(producer, n))) for n in range(count)]
    right = sum(1 for n, result in sent if result.get(timeout=240) == [producer, n])
    print(f"ok {producer} {right}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
