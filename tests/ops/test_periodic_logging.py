"""Periodic tasks (drain-usage runs every second) log at DEBUG, other tasks at INFO."""

from __future__ import annotations

import logging

import pytest

from portal.celery import app

# Whichever app holds it: the task beat sends every second.
DRAIN = app.conf.beat_schedule["drain-usage"]["task"]


def emit(logger_name: str, level: int, message: str, args) -> list[logging.LogRecord]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger(logger_name)
    handler, old_level, old_propagate = Keep(), logger.level, logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for logger_level in (logging.INFO, logging.DEBUG):
            logger.setLevel(logger_level)
            logger.log(level, message, *(args if isinstance(args, tuple) else (args,)))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
    return records


@pytest.mark.parametrize(
    ("logger_name", "message", "args"),
    [
        (
            "celery.beat",
            "Scheduler: Sending due task %s (%s)",
            ("drain-usage", DRAIN),
        ),
        (
            "celery.worker.strategy",
            "Task %(name)s[%(id)s] received",
            {"name": DRAIN, "id": "1"},
        ),
        (
            "celery.app.trace",
            "Task %(name)s[%(id)s] succeeded",
            {"name": DRAIN, "id": "1"},
        ),
        (
            "celery.worker.request",
            "Discarding revoked task: %s[%s]",
            (DRAIN, "1"),
        ),
    ],
)
def test_periodic_task_lines_show_only_at_debug(logger_name, message, args):
    records = emit(logger_name, logging.INFO, message, args)
    # Dropped while the logger is at INFO; shown as DEBUG once it is at DEBUG.
    assert [r.levelname for r in records] == ["DEBUG"]


def test_other_tasks_and_failures_keep_their_level():
    received = emit(
        "celery.worker.strategy",
        logging.INFO,
        "Task %(name)s[%(id)s] received",
        {"name": "accounts.tasks.send_email", "id": "1"},
    )
    assert [r.levelname for r in received] == ["INFO", "INFO"]
    failed = emit(
        "celery.app.trace",
        logging.ERROR,
        "Task %(name)s[%(id)s] raised",
        {"name": DRAIN, "id": "1"},
    )
    assert [r.levelname for r in failed] == ["ERROR", "ERROR"]
