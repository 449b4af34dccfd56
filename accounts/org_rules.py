"""The rules every organization use case obeys: who acts (``Actor``), the one error they
raise (``OrgError``, which the Admin API and the portal both map), the role checks, and
how names, roles and budgets are read from a stranger.

Roles are OpenAI's: an organization's ``owner`` may do everything, a ``reader`` sees
what their projects do and changes nothing at organization level; a project's
``owner`` manages its members, service accounts, keys and limits, a ``member`` uses it.
An organization owner is an owner of every project of the organization.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from accounts.models import (
    ApiKey,
    Organization,
    OrganizationMember,
    OrganizationRole,
    Project,
    ProjectMember,
    ProjectRole,
    User,
)
from ground.money import LARGEST_AMOUNT, PLACES, QUANTUM, parse_money

NAME_LENGTH = 100
# C0 controls (NUL included), DEL and the C1 controls: never part of a name.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_USER_ID = re.compile(r"user-([0-9]{1,18})")
_KEY_ID = re.compile(r"key_([0-9]{1,18})")
_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def id_shape(value: object) -> str:
    """A public id as a stranger typed it: the value when it has an id's shape, else "".
    No id has another shape, and a NUL would not even reach PostgreSQL's text columns
    (it refuses the query): an id of another shape simply names nothing (a 404)."""
    return value if isinstance(value, str) and _PUBLIC_ID.fullmatch(value) else ""


STATUSES = {"invalid": 400, "forbidden": 403, "not_found": 404, "conflict": 409}


class OrgError(Exception):
    """A refused organization change: ``kind`` is ``invalid`` (400), ``forbidden`` (403),
    ``not_found`` (404) or ``conflict`` (409); ``param`` names the field at fault."""

    def __init__(
        self, message: str, *, kind: str = "invalid", param: str | None = None, code: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.param = param
        self.code = (
            code
            or {
                "invalid": "invalid_parameter",
                "forbidden": "insufficient_permissions",
                "not_found": "not_found",
                "conflict": "conflict",
            }[kind]
        )

    @property
    def status(self) -> int:
        return STATUSES[self.kind]


def not_found(what: str, public_id: str, param: str | None = None) -> OrgError:
    shown = "".join(ch for ch in str(public_id)[:64] if ch.isprintable())
    return OrgError(f"No {what} with id '{shown}' was found.", kind="not_found", param=param)


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a person, through an admin key (``api_key``) or a portal session."""

    user: User
    api_key: ApiKey | None = None
    ip: str | None = None

    @property
    def email(self) -> str:
        return self.user.email


# --- Public ids of people and keys -------------------------------------------------------------
def user_public_id(user_id: int) -> str:
    return f"user-{user_id}"


def user_pk(public_id: str) -> int | None:
    match = _USER_ID.fullmatch(public_id or "")
    return int(match.group(1)) if match else None


def key_public_id(key_id: int) -> str:
    return f"key_{key_id}"


def key_pk(public_id: str) -> int | None:
    match = _KEY_ID.fullmatch(public_id or "")
    return int(match.group(1)) if match else None


# --- Roles ---------------------------------------------------------------------------------------
def org_role(organization: Organization, user: User) -> str | None:
    return (
        OrganizationMember.objects.filter(organization=organization, user=user)
        .values_list("role", flat=True)
        .first()
    )


def require_org_owner(organization: Organization, actor: Actor) -> None:
    if org_role(organization, actor.user) != OrganizationRole.OWNER:
        raise OrgError(
            "Only an owner of the organization may do this; a reader changes nothing.",
            kind="forbidden",
        )


def require_org_member(organization: Organization, actor: Actor) -> str:
    role = org_role(organization, actor.user)
    if role is None:
        raise OrgError("You are not a member of this organization.", kind="forbidden")
    return role


def project_role(project: Project, user: User) -> str | None:
    """The user's role in the project; an organization owner owns every project."""
    if org_role(project.organization, user) == OrganizationRole.OWNER:
        return ProjectRole.OWNER
    return (
        ProjectMember.objects.filter(project=project, user=user)
        .values_list("role", flat=True)
        .first()
    )


def require_project_owner(project: Project, actor: Actor) -> None:
    if project_role(project, actor.user) != ProjectRole.OWNER:
        raise OrgError(
            "Only an owner of the project (or of its organization) may do this.",
            kind="forbidden",
        )


def require_active(project: Project) -> None:
    if project.is_archived:
        raise OrgError(
            f"The project '{project.public_id}' is archived and cannot be changed.",
            kind="invalid",
            code="project_archived",
        )


# --- Values from a stranger ----------------------------------------------------------------------
def clean_name(value: object, param: str = "name") -> str:
    """A name of 1 to 100 characters, without NUL or other control characters."""
    if not isinstance(value, str):
        raise OrgError(f"'{param}' must be a string.", param=param)
    if _CONTROL.search(value):
        raise OrgError(f"'{param}' may not contain control characters (NUL…).", param=param)
    name = value.strip()
    if not name:
        raise OrgError(f"'{param}' may not be blank.", param=param)
    if len(name) > NAME_LENGTH:
        raise OrgError(f"'{param}' may have at most {NAME_LENGTH} characters.", param=param)
    return name


def clean_role(value: object, choices: type, param: str = "role") -> str:
    allowed = [choice.value for choice in choices]
    if value not in allowed:
        raise OrgError(
            f"Invalid '{param}': {value!r} is not one of {', '.join(allowed)}.",
            param=param,
            code="invalid_role",
        )
    return str(value)


def clean_budget(value: object, param: str) -> Decimal | None:
    """A budget in USD: ``None`` (no budget), or a finite amount from 0 to
    ``LARGEST_AMOUNT`` with at most ``PLACES`` decimals, given as a decimal string or an
    integer (a float would round before it reached us, so JSON numbers with a fraction are
    read from their text by the API, never as floats)."""
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    try:
        amount = parse_money(value)
    except ValueError:
        raise OrgError(
            f"Invalid '{param}': {str(value)[:40]!r} is not a finite amount of USD.", param=param
        ) from None
    if amount < 0:
        raise OrgError(f"Invalid '{param}': a budget cannot be negative.", param=param)
    if amount > LARGEST_AMOUNT:
        raise OrgError(f"Invalid '{param}': at most {LARGEST_AMOUNT} USD.", param=param)
    if amount != amount.quantize(QUANTUM):
        raise OrgError(f"Invalid '{param}': at most {PLACES} decimal places.", param=param)
    return amount
