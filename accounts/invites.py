"""Invitations to an organization: create (mailing the accept link once), list, find,
delete, and accept. The link's token is stored only as a keyed hash.

An invite may name projects (``[{"id": "proj_…", "role": "member"}]``) joined on
acceptance; without ``projects`` the invitee joins the default project as a member (as
OpenAI does), with an empty list no project at all. Only an organization owner invites.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts import audit
from accounts.models import (
    Invite,
    Organization,
    OrganizationMember,
    OrganizationRole,
    Project,
    ProjectMember,
    ProjectRole,
    User,
)
from accounts.org_rules import (
    Actor,
    OrgError,
    clean_role,
    id_shape,
    not_found,
    require_org_owner,
    user_public_id,
)
from accounts.tasks import send_email
from ground.crypto import keyed_hash

INVITE_LIFETIME = timedelta(days=7)
MAX_PROJECTS = 100
UNSET = object()


def hash_token(token: str) -> str:
    return keyed_hash(settings.SECRET_KEY, "invite:" + token)


def accept_url(token: str) -> str:
    return f"{(settings.SITE_URL or '').rstrip('/')}/invites/{token}/"


def clean_email(value: object) -> str:
    if not isinstance(value, str) or len(value) > 254:
        raise OrgError("'email' must be an e-mail address.", param="email", code="invalid_email")
    email = value.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise OrgError(
            f"'{value[:80]}' is not a valid e-mail address.", param="email", code="invalid_email"
        ) from None
    return email


def clean_projects(organization: Organization, projects: object) -> list[dict]:
    """``projects`` as stored: each an active project of the organization with a role."""
    if projects is UNSET or projects is None:
        default = Project.objects.filter(organization=organization, is_default=True).first()
        return [{"id": default.public_id, "role": ProjectRole.MEMBER}] if default else []
    if not isinstance(projects, list) or len(projects) > MAX_PROJECTS:
        raise OrgError(
            f"'projects' must be a list of at most {MAX_PROJECTS} {{id, role}}.", param="projects"
        )
    clean: dict[str, str] = {}
    for index, entry in enumerate(projects):
        param = f"projects[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise OrgError(f"'{param}' must be an object with 'id' and 'role'.", param=param)
        role = clean_role(entry.get("role"), ProjectRole, param=f"{param}.role")
        found = Project.objects.filter(
            organization=organization, public_id=id_shape(entry["id"])
        ).first()
        if found is None:
            raise not_found("project", entry["id"][:60], param=f"{param}.id")
        if found.is_archived:
            raise OrgError(f"The project '{found.public_id}' is archived.", param=f"{param}.id")
        clean[found.public_id] = role
    return [{"id": public_id, "role": role} for public_id, role in clean.items()]


def list_invites(organization: Organization) -> QuerySet[Invite]:
    return Invite.objects.filter(organization=organization).order_by("created_at", "id")


def get_invite(organization: Organization, public_id: str) -> Invite:
    invite = list_invites(organization).filter(public_id=id_shape(public_id)).first()
    if invite is None:
        raise not_found("invite", public_id, param="invite_id")
    return invite


def create_invite(
    actor: Actor,
    organization: Organization,
    email: object,
    role: object,
    projects: object = UNSET,
) -> Invite:
    """A pending invite, mailed (once the transaction commits) with its accept link."""
    address = clean_email(email)
    role = clean_role(role, OrganizationRole)
    require_org_owner(organization, actor)
    chosen = clean_projects(organization, projects)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        if OrganizationMember.objects.filter(
            organization=organization, user__email__iexact=address
        ).exists():
            raise OrgError(
                f"{address} is already a member of this organization.",
                kind="conflict",
                param="email",
                code="already_member",
            )
        if (
            Invite.objects.select_for_update()
            .filter(
                organization=organization,
                email__iexact=address,
                accepted_at__isnull=True,
                expires_at__gt=timezone.now(),
            )
            .exists()
        ):
            raise OrgError(
                f"{address} already has a pending invite; delete it to invite again.",
                kind="conflict",
                param="email",
                code="already_invited",
            )
        invite = Invite.objects.create(
            organization=organization,
            email=address,
            role=role,
            projects=chosen,
            hashed_token=hash_token(token),
            invited_by=actor.user,
            expires_at=timezone.now() + INVITE_LIFETIME,
        )
        audit.record(
            organization,
            "invite.sent",
            actor=actor,
            object_id=invite.public_id,
            after={"email": address, "role": role, "projects": chosen},
        )
        send_email.delay_on_commit(
            subject=f"[{settings.SITE_NAME}] {actor.email} invites you to {organization.name}",
            body=(
                f"{actor.email} invites you to join the organization “{organization.name}” "
                f"on {settings.SITE_NAME} as {role}.\n\n"
                f"Accept the invitation (it works for {INVITE_LIFETIME.days} days; if you have "
                f"no account yet, sign up with this address first):\n{accept_url(token)}\n"
            ),
            to=[address],
        )
    return invite


def delete_invite(actor: Actor, organization: Organization, public_id: str) -> None:
    with transaction.atomic():
        require_org_owner(organization, actor)
        invite = get_invite(organization, public_id)
        if invite.accepted_at is not None:
            raise OrgError(
                "An accepted invite cannot be deleted.", param="invite_id", code="invite_accepted"
            )
        invite.delete()
        audit.record(
            organization,
            "invite.deleted",
            actor=actor,
            object_id=public_id,
            before={"email": invite.email, "role": invite.role},
        )


def pending_invite(token: str) -> Invite | None:
    """The pending invite behind an accept link (``None``: unknown, used or expired)."""
    invite = (
        Invite.objects.select_related("organization", "invited_by")
        .filter(hashed_token=hash_token(token or ""))
        .first()
    )
    return invite if invite is not None and invite.status == Invite.Status.PENDING else None


def accept_invite(token: str, user: User) -> Organization:
    """``user`` joins the invite's organization (and projects); the invite's address must
    be theirs. A used, expired or unknown token is refused."""
    with transaction.atomic():
        invite = (
            Invite.objects.select_for_update()
            .select_related("organization")
            .filter(hashed_token=hash_token(token or ""))
            .first()
        )
        if invite is None or invite.status != Invite.Status.PENDING:
            raise OrgError("This invitation is unknown, used or expired.", kind="not_found")
        if invite.email.lower() != user.email.lower():
            raise OrgError(
                f"This invitation is for {invite.email}; sign in with that address.",
                kind="forbidden",
            )
        organization = invite.organization
        OrganizationMember.objects.get_or_create(
            organization=organization, user=user, defaults={"role": invite.role}
        )
        for entry in invite.projects:
            project = Project.objects.filter(
                organization=organization, public_id=entry["id"], status=Project.Status.ACTIVE
            ).first()
            if project is not None:
                ProjectMember.objects.get_or_create(
                    project=project, user=user, defaults={"role": entry["role"]}
                )
        invite.accepted_at = timezone.now()
        invite.accepted_by = user
        invite.save(update_fields=["accepted_at", "accepted_by"])
        audit.record(
            organization,
            "invite.accepted",
            actor=Actor(user=user),
            object_id=invite.public_id,
            after={"user_id": user_public_id(user.pk), "role": invite.role},
        )
    return organization
