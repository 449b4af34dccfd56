"""Changes to keys and to their owners' limits reach the hot path at once; every new user
gets a personal organization, and every key a project."""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from accounts.models import ApiKey
from accounts.organizations import personal_organization, place_key
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


@receiver(pre_save, sender=ApiKey)
def api_key_placed(sender, instance: ApiKey, **kwargs) -> None:
    if instance.organization_id is None or (
        instance.project_id is None and instance.kind != ApiKey.Kind.ADMIN
    ):
        place_key(instance)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def personal_organization_made(sender, instance, created: bool, raw: bool = False, **kwargs):
    if created and not raw:
        personal_organization(instance)
