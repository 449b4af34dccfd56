"""Keys of an organization: a project's keys (list, find, delete) and admin keys (mint,
list, find, delete), and the key a new service account gets.

An admin key (``ApiKey.Kind.ADMIN``) belongs to the organization and to no project; its
only scope is ``ADMIN_SCOPE``, which no other key can have (``key_rules.clean_scopes``
knows no such scope), so it can call the Admin API and nothing else. Its owner must
still be an owner of the organization when it is used (``admin_key_actor``).
Deleting a key revokes it: the row stays for the usage that names it.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts import audit
from accounts.key_revocation import revoke_all
from accounts.key_secrets import VISIBLE_PREFIX_LENGTH, hash_key, new_admin_secret, new_secret
from accounts.keys import IssuedKey
from accounts.models import (
    ALL_SCOPES,
    ApiKey,
    Organization,
    OrganizationRole,
    Project,
    ProjectRole,
    ServiceAccount,
)
from accounts.org_rules import (
    Actor,
    OrgError,
    clean_name,
    key_pk,
    key_public_id,
    not_found,
    org_role,
    project_role,
    require_org_owner,
)

ADMIN_SCOPE = "admin"
MAX_LIFETIME = timedelta(days=3650)


def redacted(key: ApiKey) -> str:
    """OpenAI's ``redacted_value``: the visible prefix, then the rest hidden."""
    return f"{key.prefix}****"


def expiry(expires_in_seconds: object) -> timezone.datetime | None:
    if expires_in_seconds is None:
        return None
    if (
        not isinstance(expires_in_seconds, int)
        or isinstance(expires_in_seconds, bool)
        or not 1 <= expires_in_seconds <= MAX_LIFETIME.total_seconds()
    ):
        raise OrgError(
            f"'expires_in_seconds' must be a whole number from 1 to {int(MAX_LIFETIME.total_seconds())}.",
            param="expires_in_seconds",
        )
    return timezone.now() + timedelta(seconds=expires_in_seconds)


def _mint(owner, name: str, **fields) -> IssuedKey:
    kind = fields.get("kind", ApiKey.Kind.USER)
    secret = new_admin_secret() if kind == ApiKey.Kind.ADMIN else new_secret()
    key = ApiKey.objects.create(
        owner=owner,
        name=name,
        prefix=secret[:VISIBLE_PREFIX_LENGTH],
        hashed_key=hash_key(secret),
        **fields,
    )
    return IssuedKey(key, secret)


# --- A service account's key -------------------------------------------------------------------
def mint_service_account_key(
    actor: Actor, service_account: ServiceAccount, expires_at=None
) -> IssuedKey:
    """The service account's key (every scope but the Admin API's); call it inside the
    transaction that made the account. Its owner is the person who made it."""
    project = service_account.project
    return _mint(
        actor.user,
        service_account.name,
        kind=ApiKey.Kind.SERVICE_ACCOUNT,
        organization_id=project.organization_id,
        project=project,
        service_account=service_account,
        scopes=list(ALL_SCOPES),
        expires_at=expires_at,
    )


# --- A project's keys --------------------------------------------------------------------------
def project_keys(project: Project) -> QuerySet[ApiKey]:
    """The project's working keys (revoked ones are gone as far as OpenAI's API goes)."""
    return (
        ApiKey.objects.filter(project=project, revoked_at__isnull=True)
        .exclude(kind=ApiKey.Kind.ADMIN)
        .select_related("owner", "service_account")
        .order_by("created_at", "id")
    )


def get_project_key(project: Project, public_id: str) -> ApiKey:
    key = project_keys(project).filter(pk=key_pk(public_id)).first()
    if key_pk(public_id) is None or key is None:
        raise not_found("API key", public_id, param="key_id")
    return key


def delete_project_key(actor: Actor, project: Project, public_id: str) -> None:
    """A project owner deletes any key of the project; a member only their own."""
    with transaction.atomic():
        key = get_project_key(project, public_id)
        if project_role(project, actor.user) != ProjectRole.OWNER and key.owner_id != actor.user.pk:
            raise OrgError("Only the project's owners may delete others' keys.", kind="forbidden")
        revoke_all(ApiKey.objects.filter(pk=key.pk))
        audit.record(
            project.organization,
            "api_key.deleted",
            actor=actor,
            object_id=key_public_id(key.pk),
            project=project,
            before={"name": key.name, "kind": key.kind},
        )


# --- Admin keys --------------------------------------------------------------------------------
def mint_admin_key(
    actor: Actor, organization: Organization, name: object, expires_in_seconds: object = None
) -> IssuedKey:
    """An admin key for ``organization``, minted by one of its owners (the secret once)."""
    clean = clean_name(name)
    expires_at = expiry(expires_in_seconds)
    with transaction.atomic():
        require_org_owner(organization, actor)
        issued = _mint(
            actor.user,
            clean,
            kind=ApiKey.Kind.ADMIN,
            organization=organization,
            scopes=[ADMIN_SCOPE],
            expires_at=expires_at,
        )
        audit.record(
            organization,
            "api_key.created",
            actor=actor,
            object_id=key_public_id(issued.key.pk),
            after={"name": clean, "kind": ApiKey.Kind.ADMIN, "scopes": [ADMIN_SCOPE]},
        )
    return issued


def admin_keys(organization: Organization) -> QuerySet[ApiKey]:
    return (
        ApiKey.objects.filter(
            organization=organization, kind=ApiKey.Kind.ADMIN, revoked_at__isnull=True
        )
        .select_related("owner")
        .order_by("created_at", "id")
    )


def get_admin_key(organization: Organization, public_id: str) -> ApiKey:
    key = admin_keys(organization).filter(pk=key_pk(public_id)).first()
    if key_pk(public_id) is None or key is None:
        raise not_found("admin API key", public_id, param="key_id")
    return key


def delete_admin_key(actor: Actor, organization: Organization, public_id: str) -> None:
    with transaction.atomic():
        require_org_owner(organization, actor)
        key = get_admin_key(organization, public_id)
        revoke_all(ApiKey.objects.filter(pk=key.pk))
        audit.record(
            organization,
            "api_key.deleted",
            actor=actor,
            object_id=key_public_id(key.pk),
            before={"name": key.name, "kind": key.kind},
        )


def admin_key_actor(key_id: int, ip: str | None = None) -> tuple[Actor, Organization]:
    """Who an admin key acts as, and on which organization; 403 once its owner is no
    longer an owner there."""
    key = (
        ApiKey.objects.select_related("owner", "organization")
        .filter(pk=key_id, kind=ApiKey.Kind.ADMIN, revoked_at__isnull=True)
        .first()
    )
    if key is None or key.organization is None:
        raise OrgError("This key is not an admin key.", kind="forbidden")
    if org_role(key.organization, key.owner) != OrganizationRole.OWNER:
        raise OrgError(
            "The owner of this admin key is no longer an owner of its organization.",
            kind="forbidden",
        )
    return Actor(user=key.owner, api_key=key, ip=ip), key.organization
