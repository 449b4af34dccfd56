"""A producer process for the broker tests: ``python -m tests.ops.producer ID COUNT [--no-wait]``.

Sends COUNT tasks (``celery.accumulate``, which returns its arguments) to the broker
configured by the environment. It then waits for every result and prints
``ok <producer id> <results that came back right>``; with ``--no-wait`` it prints the
task ids instead.
"""

from __future__ import annotations

import sys

from portal.celery import app


def main(producer: int, count: int, wait: bool) -> None:
    sent = [(n, app.send_task("celery.accumulate", args=(producer, n))) for n in range(count)]
    if not wait:
        print("\n".join(result.id for _, result in sent), flush=True)
        return
    right = sum(1 for n, result in sent if result.get(timeout=240) == [producer, n])
    print(f"ok {producer} {right}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), wait="--no-wait" not in sys.argv)
