"""Changes to keys and to their owners' limits reach the hot path at once."""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import ApiKey
from accounts.snapshots import forget_keys


@receiver([post_save, post_delete], sender=ApiKey)
def api_key_changed(sender, instance: ApiKey, **kwargs) -> None:
    forget_keys([instance.hashed_key])


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def owner_changed(sender, instance, created: bool, **kwargs) -> None:
    if created:
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and set(update_fields) <= {"last_login", "password"}:
        return
    forget_keys(list(ApiKey.objects.filter(owner=instance).values_list("hashed_key", flat=True)))
