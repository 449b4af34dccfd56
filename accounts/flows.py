"""API-key use cases, shared by the portal, the admin and ``manage.py createapikey``."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import ALL_SCOPES, ApiKey, User
from accounts.snapshots import forget_keys
from ground.crypto import keyed_hash

KEY_PREFIX = "sk-"
VISIBLE_PREFIX_LENGTH = 11  # "sk-" + 8 characters


def hash_key(raw: str) -> str:
    """The stored (and looked-up) form of a secret: HMAC-SHA-256 with the server secret."""
    return keyed_hash(settings.API_KEY_SECRET, raw)


class KeyError_(ValueError):
    """A key setting is invalid; the message says which and why."""


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str  # shown once, never stored


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def clean_scopes(scopes: list[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(scopes)) if scopes else list(ALL_SCOPES)
    unknown = [s for s in chosen if s not in ALL_SCOPES]
    if unknown:
        raise KeyError_(f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(ALL_SCOPES)}.")
    return chosen


def clean_cidrs(ranges: list[str] | None) -> list[str]:
    cleaned = []
    for value in ranges or []:
        try:
            cleaned.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError:
            raise KeyError_(f"{value!r} is not an IP address or CIDR range.") from None
    return cleaned


def clean_models(owner, models: list[str] | None, current: list[str] | None = None) -> list[str]:
    """A key's model allowlist: new models must be on the owner's allowlist.

    Models the key already names (``current``) that its owner may no longer use, because
    an admin narrowed the owner's allowlist, are kept as they are and never block a save:
    they grant nothing (a key only narrows its owner's allowlist), and dropping them
    could leave the key's list empty, which would widen it to every model of its owner.
    """
    models = list(dict.fromkeys(m.strip() for m in models or [] if m.strip()))
    owner_models = owner.allowed_models or []
    kept = set(current or [])
    outside = [m for m in models if owner_models and m not in owner_models and m not in kept]
    if outside:
        raise KeyError_(
            f"Not on the account's allowlist: {', '.join(outside)}. "
            "A key can only narrow its owner's allowlist."
        )
    return models


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
