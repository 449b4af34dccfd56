from __future__ import annotations

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        # Signal receivers, and the tasks that use cases queue by name.
        from billing import signals, tasks  # noqa: F401
