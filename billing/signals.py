"""Billing listens: a wallet for every new user, settlement for every recorded request."""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from billing.flows import settle_usage_events
from billing.models import Wallet
from usage.signals import usage_recorded


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_wallet(sender, instance, created: bool, **kwargs) -> None:
    if created:
        Wallet.objects.get_or_create(user=instance)


@receiver(usage_recorded)
def settle_recorded_usage(sender, events, **kwargs) -> None:
    """Charge each newly recorded request once, in the drain's transaction."""
    settle_usage_events(events)
