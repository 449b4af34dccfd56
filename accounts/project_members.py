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
    clean_role,
    not_found,
    require_active,
    require_project_owner,
    user_pk,
    user_public_id,
)
from accounts.projects import get_project


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


def change_project_role(
    actor: Actor, organization: Organization, project_id: str, public_id: str, role: object
) -> ProjectMember:
    role = clean_role(role, ProjectRole)
    with transaction.atomic():
        project = get_project(organization, project_id, lock=True)
        require_project_owner(project, actor)
        require_active(project)
        member = get_project_member(project, public_id, lock=True)
        if member.role != role:
            before = {"role": member.role, "project_id": project.public_id}
            member.role = role
            member.save(update_fields=["role"])
            audit.record(
                organization,
                "user.updated",
                actor=actor,
                object_id=public_id,
                project=project,
                before=before,
                after={"role": role, "project_id": project.public_id},
            )
    return member


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
