from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        # The checks of what an operator configures (manage.py check --deploy).
        from portal import checks  # noqa: F401
