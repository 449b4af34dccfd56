"""The embedded broker (portal/broker.py) under concurrent producers, with real processes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.processes import ROOT, CeleryWorker, child_env, wait_for

PRODUCERS, TASKS_EACH = 4, 500


@pytest.fixture
def embedded_env(tmp_path) -> dict[str, str]:
    """The embedded broker and result store in a folder of this test's own, Redis or not."""
    return child_env(
        PORTICO_VAR_DIR=str(tmp_path),
        CELERY_BROKER_URL="portico-files://localhost/",
        CELERY_RESULT_BACKEND=f"portal.broker.AtomicFileBackend+file://{tmp_path}/celery/results",
        CELERY_TASK_ALWAYS_EAGER="0",
    )


@pytest.mark.slow
def test_it_delivers_every_task_from_concurrent_producers(embedded_env, tmp_path):
    queue = tmp_path / "celery" / "queue"
    queue.mkdir(parents=True)
    # What kombu's file-system transport could leave behind, and what killed the worker.
    (queue / "00000000000000000001_empty.celery.msg").write_bytes(b"")
    (queue / "00000000000000000002_half.celery.msg").write_bytes(b'{"body": "eyJ')
    worker = CeleryWorker(embedded_env, concurrency=2)
    try:
        worker.wait_ready()
        producers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.ops.producer", str(n), str(TASKS_EACH)],
                cwd=ROOT,
                env=embedded_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for n in range(PRODUCERS)
        ]
        outputs = [p.communicate(timeout=300)[0] for p in producers]
        worker.saw("")  # still alive
    finally:
        worker.stop()

    for n, output in enumerate(outputs):
        assert f"ok {n} {TASKS_EACH}" in output, output
    log = worker.output()
    assert "JSONDecodeError" not in log
    assert "Traceback" not in log, log
    assert sorted(p.name for p in (tmp_path / "celery" / "corrupt").iterdir()) == [
        "00000000000000000001_empty.celery.msg",
        "00000000000000000002_half.celery.msg",
    ]
    assert not [p for p in queue.iterdir() if p.name.endswith(".msg")]
    assert list((queue / ".claimed").iterdir()) == []  # every message was acknowledged


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.mark.slow
def test_a_message_claimed_by_a_worker_that_died_is_delivered_again(embedded_env, tmp_path):
    queue = tmp_path / "celery" / "queue"
    task_id = subprocess.run(
        [sys.executable, "-m", "tests.ops.producer", "7", "1", "--no-wait"],
        cwd=ROOT,
        env=embedded_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # What a worker killed with SIGKILL leaves behind: its claimed, unacknowledged message.
    (message,) = [p for p in queue.iterdir() if p.name.endswith(".msg")]
    (queue / ".claimed").mkdir(exist_ok=True)
    message.rename(queue / ".claimed" / f"{dead_pid()}-{message.name}")

    result = tmp_path / "celery" / "results" / f"celery-task-meta-{task_id}"
    worker = CeleryWorker(embedded_env, concurrency=1)
    try:
        worker.wait_ready()
        wait_for(result.exists, timeout=60, what="the redelivered task's result")
        assert worker.saw("claimed by a process that died; queued again")
    finally:
        worker.stop()
    assert json.loads(result.read_text())["result"] == [7, 0]
