"""The Celery app: configured from Django settings (``CELERY_*``), tasks autodiscovered."""

from __future__ import annotations

import logging
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class PeriodicTaskChatter(logging.Filter):
    """Demote the INFO lines about periodic tasks (sent, received, succeeded, expired) to DEBUG.

    Beat sends ``drain-usage`` every second; at INFO those lines would bury everything
    else on the console of ``make run``. Failures are logged at ERROR and stay there.
    """

    def __init__(self, celery_app: Celery) -> None:
        super().__init__()
        self.app = celery_app

    def periodic_tasks(self) -> set[str]:
        return {entry["task"] for entry in self.app.conf.beat_schedule.values()}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not self.is_periodic(record):
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True

    def is_periodic(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, dict):  # the worker's "received" and "succeeded" lines
            return args.get("name") in self.periodic_tasks()
        if isinstance(args, tuple):  # beat's "Sending due task", "Discarding revoked task"
            return any(arg in self.periodic_tasks() for arg in args if isinstance(arg, str))
        return False


_chatter = PeriodicTaskChatter(app)
for _name in ("celery.beat", "celery.worker.strategy", "celery.worker.request", "celery.app.trace"):
    logging.getLogger(_name).addFilter(_chatter)
