"""Logging: one console format, and the local mail backend's link lines on their own."""

from __future__ import annotations

from ground.env import (
    env_str,
)

# --- Logging ---------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "bare": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "bare": {"class": "logging.StreamHandler", "formatter": "bare"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # The local mail backend's "✉ subject — to address: link" lines start with ✉ in
        # make run's output, from the web server and from the worker (whose own format
        # would put "[time: WARNING/ForkPoolWorker-2]" in front): a handler of their own.
        "portal.mail": {"handlers": ["bare"], "level": "INFO", "propagate": False},
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "pikepdf": {"level": "WARNING"},  # announces its logger bridge on every import
    },
}
