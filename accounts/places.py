"""Where a caller sits: its organization and project, and every limit and cap they add.

A key's snapshot (``accounts.snapshots``) carries a ``Place``: the organization whose
wallet pays, the project whose allowlist, per-model rate limits and budgets apply, and
the member cap of the person spending. A signed-in user's pages (playground, portal)
sit in the user's personal organization's default project (``personal_place``).

``Caps`` is what a funds reservation must fit besides the wallet (``billing.holds``):
the project's monthly and daily budgets, the member's monthly cap, the key's caps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from asgiref.sync import sync_to_async

from accounts.models import Organization, Project, ProjectMember, ProjectRateLimit, User
from accounts.organizations import default_project, personal_organization
from catalog.snapshots import LOCAL_TTL


@dataclass(frozen=True, slots=True)
class ModelLimit:
    """A project's per-model rate limits (``ProjectRateLimit``)."""

    model: str
    rpm: int | None = None
    tpm: int | None = None
    rpd: int | None = None


@dataclass(frozen=True, slots=True)
class Place:
    organization_id: int
    project_id: int | None = None
    project_archived: bool = False
    org_models: frozenset[str] | None = None  # None: every model
    project_models: frozenset[str] | None = None
    org_rpm: int | None = None
    org_tpm: int | None = None
    org_rpd: int | None = None
    model_limits: tuple[ModelLimit, ...] = ()
    project_monthly_budget: Decimal | None = None
    project_daily_budget: Decimal | None = None
    # Whose member cap applies (a person; None for a service account's key) and what it is.
    member_id: int | None = None
    member_cap: Decimal | None = None

    def limits_for(self, model: str) -> ModelLimit | None:
        for limit in self.model_limits:
            if limit.model == model:
                return limit
        return None


@dataclass(frozen=True, slots=True)
class Caps:
    """Every cap a reservation must fit besides the wallet; ``None``: no cap at that level."""

    api_key_id: int | None = None
    key_daily: Decimal | None = None
    key_monthly: Decimal | None = None
    key_total: Decimal | None = None
    project_id: int | None = None
    project_monthly: Decimal | None = None
    project_daily: Decimal | None = None
    member_id: int | None = None
    member_cap: Decimal | None = None

    @property
    def key_budgets(self) -> dict[str, Decimal | None]:
        return {"daily": self.key_daily, "monthly": self.key_monthly, "total": self.key_total}

    @property
    def capped(self) -> bool:
        """Whether any level caps spending (such requests take per-request holds)."""
        return any(
            value is not None
            for value in (
                self.key_daily,
                self.key_monthly,
                self.key_total,
                self.project_monthly,
                self.project_daily,
                self.member_cap,
            )
        )


def allowlist(models: list[str] | None) -> frozenset[str] | None:
    """An allowlist as stored (a list; empty means no restriction) as the snapshot keeps it."""
    return frozenset(models) if models else None


def place_of(organization: Organization, project: Project | None, member_id: int | None) -> Place:
    """The place of a caller in ``project`` (two small queries: its per-model limits and
    the member's own cap)."""
    if project is None:
        return Place(
            organization_id=organization.pk,
            org_models=allowlist(organization.allowed_models),
            org_rpm=organization.rpm_limit,
            org_tpm=organization.tpm_limit,
            org_rpd=organization.rpd_limit,
        )
    limits = tuple(
        ModelLimit(model, rpm, tpm, rpd)
        for model, rpm, tpm, rpd in ProjectRateLimit.objects.filter(project=project).values_list(
            "model",
            "max_requests_per_1_minute",
            "max_tokens_per_1_minute",
            "max_requests_per_1_day",
        )
    )
    cap = project.member_cap_usd
    if member_id is not None:
        own = (
            ProjectMember.objects.filter(project=project, user_id=member_id)
            .values_list("cap_usd", flat=True)
            .first()
        )
        cap = own if own is not None else cap
    return Place(
        organization_id=organization.pk,
        project_id=project.pk,
        project_archived=project.is_archived,
        org_models=allowlist(organization.allowed_models),
        project_models=allowlist(project.allowed_models),
        org_rpm=organization.rpm_limit,
        org_tpm=organization.tpm_limit,
        org_rpd=organization.rpd_limit,
        model_limits=limits,
        project_monthly_budget=project.monthly_budget_usd,
        project_daily_budget=project.daily_budget_usd,
        member_id=member_id,
        member_cap=cap if member_id is not None else None,
    )


# --- A signed-in user's pages ------------------------------------------------------------------
_personal: dict[tuple[int, int | None], tuple[float, Place]] = {}


def load_personal_place(user: User, project_id: int | None = None) -> Place:
    org = personal_organization(user)
    project = None
    if project_id is not None:
        project = Project.objects.filter(pk=project_id, organization=org).first()
    if project is None:
        project = default_project(org)
    return place_of(org, project, user.pk)


def personal_place(user: User, project_id: int | None = None) -> Place:
    """The place of ``user``'s pages: their personal organization and its default project
    (or ``project_id`` of it). Remembered in this process for ``LOCAL_TTL`` seconds, like
    a key's snapshot; changes to the organization or project forget it at once."""
    entry = _personal.get((user.pk, project_id))
    if entry is not None and time.monotonic() - entry[0] < LOCAL_TTL:
        return entry[1]
    place = load_personal_place(user, project_id)
    if len(_personal) > 100_000:
        _personal.clear()
    _personal[(user.pk, project_id)] = (time.monotonic(), place)
    return place


async def apersonal_place(user: User, project_id: int | None = None) -> Place:
    entry = _personal.get((user.pk, project_id))
    if entry is not None and time.monotonic() - entry[0] < LOCAL_TTL:
        return entry[1]
    return await sync_to_async(personal_place)(user, project_id)


def forget_personal_places() -> None:
    _personal.clear()
