"""A project's members: list, add (someone of the organization), find, change a role,
remove. A project owner (or an organization owner) does this; a member cannot.

Removing a member revokes the keys they made in the project (their rows stay)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from accounts import audit
from accounts.key_revocation import revoke_all
from accounts.models import (
    ApiKey,
    Organization,
    OrganizationMember,
    Project,
    ProjectMember,
    ProjectRole,
)
from accounts.org_rules import (
    Actor,
    OrgError,
    clean_budget,
    clean_role,
    not_found,
    require_active,
    require_org_owner,
    require_project_owner,
    user_pk,
    user_public_id,
)
from accounts.projects import get_project
from ground.money import plain


def list_project_members(project: Project) -> QuerySet[ProjectMember]:
    return (
        ProjectMember.objects.filter(project=project)
        .select_related("user")
        .order_by("created_at", "id")
    )


def get_project_member(project: Project, public_id: str, *, lock: bool = False) -> ProjectMember:
    pk = user_pk(public_id)
    found = ProjectMember.objects.filter(project=project, user_id=pk)
    member = (found.select_for_update() if lock else found).select_related("user").first()
    if pk is None or member is None:
        raise not_found("user", public_id, param="user_id")
    return member


def add_project_member(
    actor: Actor, organization: Organization, project_id: str, public_id: str, role: object
) -> ProjectMember:
    """Add a member of the organization to the project (someone outside it: 404)."""
    role = clean_role(role, ProjectRole)
    with transaction.atomic():
        project = get_project(organization, project_id, lock=True)
        require_project_owner(project, actor)
        require_active(project)
        pk = user_pk(public_id)
        if (
            pk is None
            or not OrganizationMember.objects.filter(organization=organization, user_id=pk).exists()
        ):
            raise not_found("user", public_id, param="user_id")
        if ProjectMember.objects.filter(project=project, user_id=pk).exists():
            raise OrgError(
                f"The user '{public_id}' is already a member of this project.",
                kind="conflict",
                param="user_id",
                code="already_member",
            )
        try:
            with transaction.atomic():
                member = ProjectMember.objects.create(project=project, user_id=pk, role=role)
        except IntegrityError:  # added meanwhile by a concurrent request
            raise OrgError(
                f"The user '{public_id}' is already a member of this project.",
                kind="conflict",
                param="user_id",
                code="already_member",
            ) from None
        audit.record(
            organization,
            "user.added",
            actor=actor,
            object_id=public_id,
            project=project,
            after={"role": role, "project_id": project.public_id},
        )
    return ProjectMember.objects.select_related("user").get(pk=member.pk)


def modify_project_member(
    actor: Actor, organization: Organization, project_id: str, public_id: str, changes: dict
) -> ProjectMember:
    """Change a member's ``role`` (a project owner may) and Portico's ``cap_usd``, their
    own monthly cap (only an organization owner may: it is the organization's money, so a
    project owner cannot raise their own). All or nothing."""
    unknown = set(changes) - {"role", "cap_usd"}
    if unknown:
        raise OrgError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    clean = {}
    if "role" in changes:
        clean["role"] = clean_role(changes["role"], ProjectRole)
    if "cap_usd" in changes:
        clean["cap_usd"] = clean_budget(changes["cap_usd"], "cap_usd")
    with transaction.atomic():
        project = get_project(organization, project_id, lock=True)
        if "cap_usd" in clean:
            require_org_owner(organization, actor)
        else:
            require_project_owner(project, actor)
        require_active(project)
        member = get_project_member(project, public_id, lock=True)
        before = member_snapshot(member)
        for field, value in clean.items():
            setattr(member, field, value)
        after = member_snapshot(member)
        if after != before:
            member.save(update_fields=list(clean))
            audit.record(
                organization,
                "user.updated",
                actor=actor,
                object_id=public_id,
                project=project,
                before={**before, "project_id": project.public_id},
                after={**after, "project_id": project.public_id},
            )
    return member


def member_snapshot(member: ProjectMember) -> dict:
    cap = member.cap_usd
    return {"role": member.role, "cap_usd": plain(cap) if cap is not None else None}


def change_project_role(
    actor: Actor, organization: Organization, project_id: str, public_id: str, role: object
) -> ProjectMember:
    return modify_project_member(actor, organization, project_id, public_id, {"role": role})


def remove_project_member(
    actor: Actor, organization: Organization, project_id: str, public_id: str
) -> None:
    with transaction.atomic():
        project = get_project(organization, project_id, lock=True)
        require_project_owner(project, actor)
        member = get_project_member(project, public_id, lock=True)
        revoke_all(
            ApiKey.objects.filter(project=project, owner_id=member.user_id, kind=ApiKey.Kind.USER)
        )
        member.delete()
        audit.record(
            organization,
            "user.deleted",
            actor=actor,
            object_id=user_public_id(member.user_id),
            project=project,
            before={"role": member.role, "project_id": project.public_id},
        )
