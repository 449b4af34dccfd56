"""An organization's members: list, find, change a role, remove. Never the last owner.

Removing a member also takes them out of the organization's projects and revokes the
keys they made there (admin keys included; a service account's keys stay): the rows stay for the usage that names them.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from accounts import audit
from accounts.key_revocation import revoke_all
from accounts.models import (
    ApiKey,
    Organization,
    OrganizationMember,
    OrganizationRole,
    ProjectMember,
)
from accounts.org_rules import (
    Actor,
    OrgError,
    clean_role,
    not_found,
    require_org_owner,
    user_pk,
    user_public_id,
)


def list_members(organization: Organization) -> QuerySet[OrganizationMember]:
    return (
        OrganizationMember.objects.filter(organization=organization)
        .select_related("user")
        .order_by("created_at", "id")
    )


def get_member(
    organization: Organization, public_id: str, *, lock: bool = False
) -> OrganizationMember:
    """The member ``user-…`` of the organization; anyone else's id is a 404."""
    pk = user_pk(public_id)
    found = OrganizationMember.objects.filter(organization=organization, user_id=pk)
    member = (found.select_for_update() if lock else found).select_related("user").first()
    if pk is None or member is None:
        raise not_found("user", public_id, param="user_id")
    return member


def _other_owners(organization: Organization, member: OrganizationMember) -> bool:
    owners = OrganizationMember.objects.select_for_update().filter(
        organization=organization, role=OrganizationRole.OWNER
    )
    return owners.exclude(pk=member.pk).exists()


def change_role(
    actor: Actor, organization: Organization, public_id: str, role: object
) -> OrganizationMember:
    role = clean_role(role, OrganizationRole)
    with transaction.atomic():
        require_org_owner(organization, actor)
        member = get_member(organization, public_id, lock=True)
        if member.role == role:
            return member
        if member.role == OrganizationRole.OWNER and not _other_owners(organization, member):
            raise OrgError(
                "The organization's last owner cannot become a reader: make another owner first.",
                kind="invalid",
                param="role",
                code="last_owner",
            )
        before = {"role": member.role}
        member.role = role
        member.save(update_fields=["role"])
        if role != OrganizationRole.OWNER:  # an admin key acts as an owner
            revoke_all(
                ApiKey.objects.filter(
                    organization=organization, owner=member.user, kind=ApiKey.Kind.ADMIN
                )
            )
        audit.record(
            organization,
            "user.updated",
            actor=actor,
            object_id=user_public_id(member.user_id),
            before=before,
            after={"role": role},
        )
    return member


def remove_member(actor: Actor, organization: Organization, public_id: str) -> None:
    with transaction.atomic():
        require_org_owner(organization, actor)
        member = get_member(organization, public_id, lock=True)
        if member.role == OrganizationRole.OWNER and not _other_owners(organization, member):
            raise OrgError(
                "The organization's last owner cannot be removed.",
                kind="invalid",
                param="user_id",
                code="last_owner",
            )
        if organization.personal_for_id == member.user_id:
            raise OrgError(
                "A personal organization's own person cannot be removed from it.",
                param="user_id",
                code="personal_organization",
            )
        ProjectMember.objects.filter(
            project__organization=organization, user_id=member.user_id
        ).delete()
        # Service accounts' keys belong to no person: they stay.
        revoke_all(
            ApiKey.objects.filter(organization=organization, owner_id=member.user_id).exclude(
                kind=ApiKey.Kind.SERVICE_ACCOUNT
            )
        )
        member.delete()
        audit.record(
            organization,
            "user.deleted",
            actor=actor,
            object_id=user_public_id(member.user_id),
            before={"email": member.user.email, "role": member.role},
        )
