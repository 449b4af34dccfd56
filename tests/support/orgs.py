"""Organizations in tests: a user's personal organization, whose wallet pays for them."""

from __future__ import annotations

from billing.wallets import current_organization_id


def org_id(user) -> int:
    """The id of ``user``'s personal organization (their wallet's key)."""
    return current_organization_id(user)
