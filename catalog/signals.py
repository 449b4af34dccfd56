"""Any catalog change bumps the catalog version so every web process reloads it."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from catalog.models import Deployment, Model, Provider
from catalog.snapshots import bump_catalog_version


@receiver([post_save, post_delete], sender=Provider)
@receiver([post_save, post_delete], sender=Model)
@receiver([post_save, post_delete], sender=Deployment)
def catalog_changed(sender, **kwargs) -> None:
    bump_catalog_version()
