"""Changes to keys, to their owners' limits, and to their organizations, projects, project
members and per-model limits reach the hot path at once; every new user gets a personal
organization, and every key a project."""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from accounts.models import ApiKey, Organization, Project, ProjectMember, ProjectRateLimit
from accounts.organizations import personal_organization, place_key
from accounts.places import forget_personal_places
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


# --- Organizations and projects: their keys' snapshots -----------------------------------------
def forget_keys_of(keys) -> None:
    forget_keys(list(keys.values_list("hashed_key", flat=True)))
    forget_personal_places()


@receiver([post_save, post_delete], sender=Organization)
def organization_changed(sender, instance: Organization, **kwargs) -> None:
    forget_keys_of(ApiKey.objects.filter(organization_id=instance.pk))


@receiver([post_save, post_delete], sender=Project)
def project_changed(sender, instance: Project, **kwargs) -> None:
    forget_keys_of(ApiKey.objects.filter(project_id=instance.pk))


@receiver([post_save, post_delete], sender=ProjectMember)
def project_member_changed(sender, instance: ProjectMember, **kwargs) -> None:
    forget_keys_of(ApiKey.objects.filter(project_id=instance.project_id, owner_id=instance.user_id))


@receiver([post_save, post_delete], sender=ProjectRateLimit)
def project_rate_limit_changed(sender, instance: ProjectRateLimit, **kwargs) -> None:
    forget_keys_of(ApiKey.objects.filter(project_id=instance.project_id))
