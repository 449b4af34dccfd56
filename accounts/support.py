"""Where users ask for credit or help."""

from __future__ import annotations

from email.utils import parseaddr

from django.conf import settings

from accounts.models import User


def support_email() -> str:
    """Where users ask for credit or help: ``SUPPORT_EMAIL``, else the first superuser's
    address, else the address mail is sent from."""
    if settings.SUPPORT_EMAIL:
        return settings.SUPPORT_EMAIL
    first_admin = (
        User.objects.filter(is_superuser=True, is_active=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("email", flat=True)
        .first()
    )
    return first_admin or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
