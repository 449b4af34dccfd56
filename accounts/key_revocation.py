"""Revoking many keys at once (a member leaves, a project is archived, a service account
is deleted): the rows stay (their usage and rollups point at them), the secrets stop
working at once in every process."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from accounts.snapshots import forget_keys


def revoke_all(keys: QuerySet) -> int:
    """Revoke every key of ``keys`` still active; how many were."""
    active = keys.filter(revoked_at__isnull=True)
    hashes = list(active.values_list("hashed_key", flat=True))
    count = active.update(revoked_at=timezone.now())
    forget_keys(hashes)
    return count
