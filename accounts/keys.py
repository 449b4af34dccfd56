"""Issuing, revoking and rotating API keys, shared by the portal, the admin and
``manage.py createapikey``. Editing a key's settings: ``accounts.key_settings``."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.key_rules import KeyError_, clean_cidrs, clean_models, clean_scopes
from accounts.key_secrets import VISIBLE_PREFIX_LENGTH, hash_key, new_secret
from accounts.models import ApiKey
from accounts.snapshots import forget_keys


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str  # shown once, never stored


def issue_key(
    owner,
    name: str,
    *,
    scopes: list[str] | None = None,
    models: list[str] | None = None,
    rpm: int | None = None,
    tpm: int | None = None,
    rpd: int | None = None,
    expires_at=None,
    ip_allowlist: list[str] | None = None,
    daily_budget=None,
    monthly_budget=None,
    total_budget=None,
) -> IssuedKey:
    if not name.strip():
        raise KeyError_("A key needs a name.")
    for label, value in (("rpm", rpm), ("tpm", tpm), ("rpd", rpd)):
        if value is not None and value < 1:
            raise KeyError_(f"{label} must be at least 1.")
    if expires_at is not None and expires_at <= timezone.now():
        raise KeyError_("The expiry must be in the future.")
    secret = new_secret()
    key = ApiKey.objects.create(
        owner=owner,
        name=name.strip()[:100],
        prefix=secret[:VISIBLE_PREFIX_LENGTH],
        hashed_key=hash_key(secret),
        scopes=clean_scopes(scopes),
        allowed_models=clean_models(owner, models),
        rpm_limit=rpm,
        tpm_limit=tpm,
        rpd_limit=rpd,
        expires_at=expires_at,
        ip_allowlist=clean_cidrs(ip_allowlist),
        daily_budget_usd=daily_budget,
        monthly_budget_usd=monthly_budget,
        total_budget_usd=total_budget,
    )
    return IssuedKey(key, secret)


def revoke_key(key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])


def rotate_key(key: ApiKey) -> IssuedKey:
    """A new secret with the same settings; the old secret stops working at once."""
    with transaction.atomic():
        old = ApiKey.objects.select_for_update().get(pk=key.pk)
        if old.revoked_at is not None:
            raise KeyError_("A revoked key cannot be rotated.")
        old_hash = old.hashed_key
        secret = new_secret()
        old.hashed_key = hash_key(secret)
        old.prefix = secret[:VISIBLE_PREFIX_LENGTH]
        old.save(update_fields=["hashed_key", "prefix"])
    forget_keys([old_hash])
    return IssuedKey(old, secret)
