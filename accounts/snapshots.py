"""What the hot path knows of an API key without asking the database: the key, its
owner, and its place (organization and project, ``accounts.places``).

A key's snapshot lives in this process for at most ``LOCAL_TTL`` seconds. Behind that,
with Redis configured, a shared cache entry that every change to the key or its owner
deletes explicitly, so revocations and admin changes reach every web process within
about a second.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.core.cache import cache

from accounts.models import ApiKey, User
from accounts.places import Caps, Place, allowlist, apersonal_place, personal_place, place_of
from catalog.snapshots import LOCAL_TTL, shared_cache_enabled
from ground.singleflight import SingleFlight

SHARED_TTL = 300
UNKNOWN_TTL = 60  # seconds an unknown key digest is remembered as unknown


@dataclass(frozen=True, slots=True)
class KeyContext:
    key_id: int
    owner_id: int
    name: str
    prefix: str
    scopes: frozenset[str]
    # None: every model (the organization's ∩ the project's ∩ the account's ∩ the key's)
    allowed_models: frozenset[str] | None
    key_rpm: int | None
    key_tpm: int | None
    key_rpd: int | None
    owner_rpm: int | None
    owner_tpm: int | None
    owner_rpd: int | None
    ip_networks: tuple = ()
    expires_at: float | None = None
    revoked: bool = False
    owner_active: bool = True
    daily_budget: Decimal | None = None
    monthly_budget: Decimal | None = None
    total_budget: Decimal | None = None
    # The two allowlists ``allowed_models`` is made of, so a refusal can name whose it is.
    owner_models: frozenset[str] | None = None
    key_models: frozenset[str] | None = None
    # Without a key: the signed-in user's page that calls ("playground" or "portal").
    session: str = ""
    # Its organization (whose wallet pays) and project, their limits and caps.
    place: Place | None = None

    @property
    def organization_id(self) -> int | None:
        return self.place.organization_id if self.place else None

    @property
    def project_id(self) -> int | None:
        return self.place.project_id if self.place else None

    @property
    def caps(self) -> Caps:
        """What a funds reservation must fit besides the wallet."""
        place = self.place
        return Caps(
            api_key_id=self.key_id or None,
            key_daily=self.daily_budget,
            key_monthly=self.monthly_budget,
            key_total=self.total_budget,
            project_id=place.project_id if place else None,
            project_monthly=place.project_monthly_budget if place else None,
            project_daily=place.project_daily_budget if place else None,
            member_id=place.member_id if place else None,
            member_cap=place.member_cap if place else None,
        )

    @property
    def subject(self) -> str:
        """Whose per-key counters apply: the key's, or the user's playground's / portal's."""
        return f"key:{self.key_id}" if self.key_id else f"{self.session}:{self.owner_id}"

    @property
    def budgets(self) -> dict[str, Decimal | None]:
        """The key's spending caps, as funds reservations take them."""
        return {
            "daily": self.daily_budget,
            "monthly": self.monthly_budget,
            "total": self.total_budget,
        }

    def allows_model(self, public_id: str) -> bool:
        return self.allowed_models is None or public_id in self.allowed_models

    def refuses_model(self, public_id: str) -> str | None:
        """Whose allowlist keeps ``public_id`` out, widest first: ``"organization"``,
        ``"project"``, ``"account"``, ``"key"``, or ``None`` when the model may be used."""
        if self.allows_model(public_id):
            return None
        place = self.place
        if place is not None:
            if place.org_models is not None and public_id not in place.org_models:
                return "organization"
            if place.project_models is not None and public_id not in place.project_models:
                return "project"
        if self.owner_models is not None and public_id not in self.owner_models:
            return "account"
        return "key"

    def allows_ip(self, address: str | None) -> bool:
        if not self.ip_networks:
            return True
        if not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.ip_networks)


def effective_allowlist(*lists: frozenset[str] | list[str] | None) -> frozenset[str] | None:
    """Each level can only narrow the one above (organization, project, account, key);
    an empty list or ``None`` means "no restriction" at that level."""
    found: frozenset[str] | None = None
    for models in lists:
        if models:
            found = frozenset(models) if found is None else found & frozenset(models)
    return found


def key_place(api_key) -> Place | None:
    """The key's organization and project; a service account's key has no member cap."""
    if api_key.organization is None:
        return None
    member = None if api_key.kind == ApiKey.Kind.SERVICE_ACCOUNT else api_key.owner_id
    return place_of(api_key.organization, api_key.project, member)


def key_context_from(api_key) -> KeyContext:
    owner = api_key.owner
    place = key_place(api_key)
    networks = []
    for cidr in api_key.ip_allowlist or []:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            continue
    return KeyContext(
        key_id=api_key.pk,
        owner_id=owner.pk,
        name=api_key.name,
        prefix=api_key.prefix,
        scopes=frozenset(api_key.scopes or []),
        allowed_models=effective_allowlist(
            place.org_models if place else None,
            place.project_models if place else None,
            owner.allowed_models,
            api_key.allowed_models,
        ),
        key_rpm=api_key.rpm_limit,
        key_tpm=api_key.tpm_limit,
        key_rpd=api_key.rpd_limit,
        owner_rpm=owner.rpm_limit,
        owner_tpm=owner.tpm_limit,
        owner_rpd=owner.rpd_limit,
        ip_networks=tuple(networks),
        expires_at=api_key.expires_at.timestamp() if api_key.expires_at else None,
        revoked=api_key.revoked_at is not None,
        owner_active=owner.is_active,
        daily_budget=api_key.daily_budget_usd,
        monthly_budget=api_key.monthly_budget_usd,
        total_budget=api_key.total_budget_usd,
        owner_models=allowlist(owner.allowed_models),
        key_models=allowlist(api_key.allowed_models),
        place=place,
    )


SESSION_NAMES = {"playground": "Playground", "portal": "Portal"}
SESSION_SCOPES = frozenset({"chat", "models", "alretrieval"})


def session_context(user, session: str = "playground", project=None) -> KeyContext:
    """A signed-in user's page calling as the user, with the user's allowlist and limits,
    in their personal organization's default project (or ``project``, a project id of it).

    There is no key: per-key limits apply to a per-user subject of the page instead
    (``playground:3``, ``portal:3``), and the account's own limits as for any key. Its
    scopes are what the user's own pages do: chat, list models, and read the user's own
    documents (``alretrieval``: the playground's ``file_search`` over their vector
    stores); the account's allowlist still decides which models each may use.
    """
    return context_in(user, session, personal_place(user, project))


async def asession_context(user, session: str = "playground", project=None) -> KeyContext:
    """``session_context`` from async code."""
    return context_in(user, session, await apersonal_place(user, project))


def context_in(user, session: str, place: Place) -> KeyContext:
    return KeyContext(
        key_id=0,
        owner_id=user.pk,
        name=SESSION_NAMES[session],
        prefix="",
        scopes=SESSION_SCOPES,
        allowed_models=effective_allowlist(
            place.org_models, place.project_models, user.allowed_models
        ),
        key_rpm=None,
        key_tpm=None,
        key_rpd=None,
        owner_rpm=user.rpm_limit,
        owner_tpm=user.tpm_limit,
        owner_rpd=user.rpd_limit,
        owner_active=user.is_active,
        owner_models=allowlist(user.allowed_models),
        session=session,
        place=place,
    )


def playground_context(user) -> KeyContext:
    """The playground calls the gateway as its user (usage records say ``playground``)."""
    return session_context(user, "playground")


async def aplayground_context(user) -> KeyContext:
    return await asession_context(user, "playground")


def payer_context(owner_id: int, api_key_id: int | None) -> KeyContext | None:
    """The current allowlists and limits of whoever pays for work done later on their
    behalf (a worker embedding an ingested document's passages): the key's when it still
    exists, else the account's. ``None`` when the account is gone."""
    if api_key_id:
        api_key = (
            ApiKey.objects.select_related("owner", "organization", "project")
            .filter(pk=api_key_id)
            .first()
        )
        if api_key is not None and api_key.owner_id == owner_id:
            return key_context_from(api_key)
    user = User.objects.filter(pk=owner_id).first()
    return session_context(user, "portal") if user is not None else None


_MISSING = object()
_local_keys: dict[str, tuple[float, KeyContext | None]] = {}


def _shared_key(hashed: str) -> str:
    # Versioned by the snapshot's shape: a process never reads another release's pickle.
    return f"apikey:v3:{hashed}"


def load_key_context(hashed: str) -> KeyContext | None:
    api_key = (
        ApiKey.objects.select_related("owner", "organization", "project")
        .filter(hashed_key=hashed)
        .first()
    )
    return key_context_from(api_key) if api_key else None


_key_loads: SingleFlight[KeyContext | None] = SingleFlight()


async def get_key_context(hashed: str) -> KeyContext | None:
    entry = _local_keys.get(hashed)
    if entry is not None:
        age = time.monotonic() - entry[0]
        # Unknown digests stay unknown: a secret is 256 random bits and a new key's save
        # forgets its digest, so remembering a miss longer only keeps floods off the DB.
        if age < LOCAL_TTL or (entry[1] is None and age < UNKNOWN_TTL):
            return entry[1]
    # Requests arriving while the snapshot reloads wait for that reload.
    return await _key_loads.run(hashed, lambda: reload_key_context(hashed))


def is_known_valid(hashed: str) -> bool:
    """Whether this process has seen a valid key with this digest (of any age: the caller
    still loads its current snapshot, so a revocation applies as usual)."""
    entry = _local_keys.get(hashed)
    return entry is not None and entry[1] is not None


async def reload_key_context(hashed: str) -> KeyContext | None:
    now = time.monotonic()
    context = _MISSING
    if shared_cache_enabled():
        context = await cache.aget(_shared_key(hashed), _MISSING)
    if context is _MISSING:
        context = await sync_to_async(load_key_context)(hashed)
        if shared_cache_enabled():
            # Unknown keys are remembered briefly so a flood of bad keys stays off the database.
            await cache.aset(_shared_key(hashed), context, SHARED_TTL if context else UNKNOWN_TTL)
    if len(_local_keys) > 100_000:  # a flood of random keys: start over, bounded memory
        _local_keys.clear()
    _local_keys[hashed] = (now, context)
    return context


def forget_keys(hashes: list[str]) -> None:
    """Called on every change to a key or its owner: the next request reloads it."""
    for hashed in hashes:
        _local_keys.pop(hashed, None)
    if hashes and shared_cache_enabled():
        cache.delete_many([_shared_key(h) for h in hashes])
