from __future__ import annotations

from django.apps import AppConfig

from accounts.key_spend import provide_key_spend


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "Usage"

    def ready(self) -> None:
        # The query reads models, importable only now; the Keys page (accounts) asks it.
        from usage.key_spend import spend_by_key

        provide_key_spend(spend_by_key)
