from __future__ import annotations

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        # Signal receivers, and the checks that read the catalog (check --deploy).
        from catalog import checks, signals  # noqa: F401
