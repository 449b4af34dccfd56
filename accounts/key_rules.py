"""The rules a key's settings obey, shared by issuing a key and editing one: known scopes,
IP ranges, and a model allowlist that only narrows its owner's."""

from __future__ import annotations

import ipaddress

from accounts.models import ALL_SCOPES


class KeyError_(ValueError):
    """A key setting is invalid; the message says which and why."""


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
