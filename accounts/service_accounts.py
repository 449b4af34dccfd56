"""A project's service accounts: members that are no person, whose keys belong to the
project. Creating one returns its key once; deleting one revokes its keys (the key rows
stay, detached, for the usage that names them)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from accounts import audit
from accounts.key_revocation import revoke_all
from accounts.keys import IssuedKey
from accounts.models import ApiKey, Organization, Project, ProjectRole, ServiceAccount
from accounts.org_keys import expiry, mint_service_account_key
from accounts.org_rules import (
    Actor,
    clean_name,
    id_shape,
    not_found,
    require_active,
    require_project_owner,
)
from accounts.projects import get_project


def list_service_accounts(project: Project) -> QuerySet[ServiceAccount]:
    return ServiceAccount.objects.filter(project=project).order_by("created_at", "id")


def get_service_account(project: Project, public_id: str) -> ServiceAccount:
    found = list_service_accounts(project).filter(public_id=id_shape(public_id)).first()
    if found is None:
        raise not_found("service account", public_id, param="service_account_id")
    return found


def create_service_account(
    actor: Actor,
    organization: Organization,
    project_id: str,
    name: object,
    expires_in_seconds: object = None,
) -> tuple[ServiceAccount, IssuedKey]:
    clean = clean_name(name)
    expires_at = expiry(expires_in_seconds)
    with transaction.atomic():
        project = get_project(organization, project_id, lock=True)
        require_project_owner(project, actor)
        require_active(project)
        account = ServiceAccount.objects.create(
            project=project, name=clean, role=ProjectRole.MEMBER, created_by=actor.user
        )
        issued = mint_service_account_key(actor, account, expires_at)
        audit.record(
            organization,
            "service_account.created",
            actor=actor,
            object_id=account.public_id,
            project=project,
            after={"name": clean, "role": account.role},
        )
    return account, issued


def delete_service_account(
    actor: Actor, organization: Organization, project_id: str, public_id: str
) -> None:
    with transaction.atomic():
        project = get_project(organization, project_id, lock=True)
        require_project_owner(project, actor)
        account = get_service_account(project, public_id)
        keys = ApiKey.objects.filter(service_account=account)
        revoke_all(keys)
        keys.update(service_account=None)  # kept: the usage of its keys names them
        account.delete()
        audit.record(
            organization,
            "service_account.deleted",
            actor=actor,
            object_id=public_id,
            project=project,
            before={"name": account.name, "role": account.role},
        )
