"""Portico's settings: every knob from the environment, one module per subject.

With nothing configured Portico runs on one machine: SQLite, a local-memory cache,
an in-process rate limiter, local file storage, console e-mail and a Celery broker
on the file system. ``DATABASE_URL``, ``REDIS_URL`` and ``STORAGE_*`` switch to the
production parts. The README's configuration table lists every variable; what a
deployment got wrong, ``manage.py check --deploy`` says (each app's ``checks.py``).
"""

from portal.settings.accounts import *  # noqa: F403
from portal.settings.base import *  # noqa: F403
from portal.settings.databases import *  # noqa: F403
from portal.settings.documents import *  # noqa: F403
from portal.settings.files import *  # noqa: F403
from portal.settings.logs import *  # noqa: F403
from portal.settings.portico import *  # noqa: F403
from portal.settings.queues import *  # noqa: F403
