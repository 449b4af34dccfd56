"""Usage is drained on a queue of its own: with every process of the general worker busy
with long tasks (OCR pages), usage events are still recorded at once — by the usage
worker ``make run`` starts (``bin/supervise``) — not after the long tasks end."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings

from portal.celery import app
from tests.support.processes import CeleryWorker, child_env, wait_for
from usage import tasks
from usage.events import UsageEvent, emit_sync
from usage.models import UsageRecord

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queues():
    """Queue names of this test's own, so no other worker of the suite takes its tasks."""
    tag = uuid.uuid4().hex[:8]
    return {"general": f"general-{tag}", "usage": f"usage-{tag}"}


@pytest.fixture
def workers(queues, monkeypatch):
    """``make run``'s two workers: a general one (one process; it consumes the usage queue
    too, as every worker does) and the usage worker, which consumes only usage."""
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    env = child_env(CELERY_TASK_ALWAYS_EAGER="0")
    general_queues = f"{queues['general']},{queues['usage']}"
    general = CeleryWorker(
        env, extra=("--queues", general_queues, "--include", "tests.usage.blocking_task")
    )
    usage = CeleryWorker(env, extra=("--queues", queues["usage"], "--pool=solo"))
    try:
        general.wait_ready()
        usage.wait_ready()
        yield
    finally:
        general.stop()
        usage.stop()


def test_the_drain_task_is_routed_to_the_usage_queue():
    route = app.amqp.router.route({}, tasks.drain_usage.name)
    assert route["queue"].name == settings.USAGE_QUEUE
    assert settings.USAGE_QUEUE in {queue.name for queue in settings.CELERY_TASK_QUEUES}


def test_usage_is_recorded_while_long_tasks_hold_the_general_worker(
    workers, queues, tmp_path, alice
):
    started, release = tmp_path / "started", tmp_path / "release"
    for _ in range(3):  # more long tasks than the general worker has processes
        app.send_task(
            "tests.hold_until", args=[str(started), str(release)], queue=queues["general"]
        )
    wait_for(started.exists, timeout=60, what="a long task to hold the general worker")
    for n in range(5):
        emit_sync(UsageEvent(request_id=f"req_queue_test_{n}", user_id=alice.pk, model="m"))
    tasks.drain_usage.apply_async(queue=queues["usage"])
    try:
        wait_for(
            lambda: (
                UsageRecord.objects.filter(request_id__startswith="req_queue_test_").count() == 5
            ),
            timeout=60,
            what="the usage worker to record the events",
        )
        assert not release.exists()  # recorded while the long tasks still held the worker
    finally:
        release.touch()
