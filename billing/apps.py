from __future__ import annotations

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing import signals  # noqa: F401
        from billing.flows import settle_usage_events
        from gateway.metering import SETTLEMENT_HOOKS

        if settle_usage_events not in SETTLEMENT_HOOKS:
            SETTLEMENT_HOOKS.append(settle_usage_events)
