"""Changing an existing API key's settings (its secret stays; see
``accounts.keys.rotate_key``).

Kept beside ``accounts.keys`` (issue, revoke, rotate) and validated by the same rules
(``accounts.key_rules``), so a key edited in the portal obeys exactly the rules of a new
one. Saving the row fires ``accounts.signals.api_key_changed``, which drops the hot path's cached
snapshot: the new limits apply within about a second.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.key_rules import KeyError_, clean_cidrs, clean_models, clean_scopes
from accounts.models import ApiKey

# update_key() keyword → ApiKey field; the keywords match issue_key()'s.
EDITABLE = {
    "name": "name",
    "scopes": "scopes",
    "models": "allowed_models",
    "rpm": "rpm_limit",
    "tpm": "tpm_limit",
    "rpd": "rpd_limit",
    "daily_budget": "daily_budget_usd",
    "monthly_budget": "monthly_budget_usd",
    "total_budget": "total_budget_usd",
    "expires_at": "expires_at",
    "ip_allowlist": "ip_allowlist",
}


def _clean(key: ApiKey, option: str, value: Any) -> Any:
    if option == "name":
        if not str(value or "").strip():
            raise KeyError_("A key needs a name.")
        return str(value).strip()[:100]
    if option == "scopes":
        if not value:
            raise KeyError_("A key needs at least one scope.")
        return clean_scopes(value)
    if option == "models":
        return clean_models(key.owner, value, current=key.allowed_models)
    if option == "ip_allowlist":
        return clean_cidrs(value)
    if option in ("rpm", "tpm", "rpd"):
        if value is not None and value < 1:
            raise KeyError_(f"{option} must be at least 1.")
        return value
    if option.endswith("_budget"):
        if value is not None and Decimal(value) < 0:
            raise KeyError_(f"The {option.replace('_', ' ')} cannot be negative.")
        return value
    if option == "expires_at":
        # Only a new expiry must lie ahead: an expired key may keep its date while
        # other settings change (it stays expired) or get a later one (it works again).
        if value is not None and value != key.expires_at and value <= timezone.now():
            raise KeyError_("The expiry must be in the future.")
        return value
    raise KeyError_(f"Unknown key setting: {option}.")


def update_key(key: ApiKey, **fields: Any) -> list[str]:
    """Change some of a key's settings; returns the names of the model fields that changed.

    Keywords are those of ``issue_key``: ``name``, ``scopes``, ``models``, ``rpm``,
    ``tpm``, ``rpd``, ``daily_budget``, ``monthly_budget``, ``total_budget``,
    ``expires_at`` and ``ip_allowlist``; ``None`` (or an empty list) removes a limit.
    A revoked key cannot be changed.
    """
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise KeyError_(f"Unknown key setting(s): {', '.join(unknown)}.")
    with transaction.atomic():
        current = ApiKey.objects.select_for_update().select_related("owner").get(pk=key.pk)
        if current.revoked_at is not None:
            raise KeyError_("A revoked key cannot be changed.")
        changed = []
        for option, value in fields.items():
            cleaned = _clean(current, option, value)
            attribute = EDITABLE[option]
            if getattr(current, attribute) != cleaned:
                setattr(current, attribute, cleaned)
                changed.append(attribute)
        if changed:
            current.save(update_fields=changed)
    for attribute in changed:
        setattr(key, attribute, getattr(current, attribute))
    return changed
