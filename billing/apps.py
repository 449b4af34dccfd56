from __future__ import annotations

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from billing import signals  # noqa: F401
        from portal.lib.money import refuse_decimal_params_on

        connection_created.connect(refuse_decimal_params_on, dispatch_uid="money-sqlite-decimals")
