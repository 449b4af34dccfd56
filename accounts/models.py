"""Users of the portal (identified by e-mail, no usernames) and their API keys."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone

from ground.money import money_field


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    username = None
    email = models.EmailField("e-mail address", unique=True)
    name = models.CharField(max_length=150, blank=True)
    # Set by admins; a user's API keys can only narrow these.
    allowed_models = models.JSONField(
        default=list, blank=True, help_text="Model ids this user may call; empty means all"
    )
    rpm_limit = models.PositiveIntegerField(null=True, blank=True, help_text="requests per minute")
    tpm_limit = models.PositiveIntegerField(null=True, blank=True, help_text="tokens per minute")
    rpd_limit = models.PositiveIntegerField(null=True, blank=True, help_text="requests per day")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ("email",)

    def __str__(self) -> str:
        return self.email

    def get_short_name(self) -> str:
        return self.name or self.email.split("@")[0]


class Scope(models.TextChoices):
    MODELS = "models", "List models and the catalog"
    CHAT = "chat", "Chat completions and responses"
    EMBEDDINGS = "embeddings", "Embeddings"
    OCR = "ocr", "OCR"
    RETRIEVAL = "alretrieval", "Retrieval"
    USAGE = "usage", "Usage and wallet"


ALL_SCOPES = [scope.value for scope in Scope]


class ApiKey(models.Model):
    class Kind(models.TextChoices):
        USER = "user", "User key"
        SERVICE_ACCOUNT = "service_account", "Service account key"
        ADMIN = "admin", "Admin key"

    # For a service account's key: the member who made it (usage is recorded under them
    # and the service account); for an admin key: the owner who minted it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.USER)
    # Filled on save from the owner's personal organization's default project when not given
    # (``accounts.organizations``); an admin key has an organization and no project.
    organization = models.ForeignKey(
        "Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    project = models.ForeignKey(
        "Project", null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    service_account = models.ForeignKey(
        "ServiceAccount",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The visible start of the key")
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, blank=True)
    allowed_models = models.JSONField(
        default=list, blank=True, help_text="Model ids; empty means all the owner may use"
    )
    rpm_limit = models.PositiveIntegerField(null=True, blank=True, help_text="requests per minute")
    tpm_limit = models.PositiveIntegerField(null=True, blank=True, help_text="tokens per minute")
    rpd_limit = models.PositiveIntegerField(null=True, blank=True, help_text="requests per day")
    daily_budget_usd = money_field(null=True, blank=True)
    monthly_budget_usd = money_field(null=True, blank=True)
    total_budget_usd = money_field(null=True, blank=True)
    ip_allowlist = models.JSONField(
        default=list, blank=True, help_text="CIDR ranges; empty means any"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "API key"
        db_table = "gateway_apikey"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def status(self) -> str:
        if self.is_revoked:
            return "revoked"
        if self.is_expired:
            return "expired"
        return "active"


# --- Organizations and projects ---------------------------------------------------------------
# An organization owns the prepaid wallet, its members (OpenAI's organization roles) and its
# projects; a project groups people and keys with its own allowlist, per-model rate limits and
# budgets. Every user has a personal organization with a default project (made at sign-up,
# and by migration for accounts older than organizations). See docs/organizations.md.
def new_org_id() -> str:
    return "org-" + secrets.token_hex(12)


def new_project_id() -> str:
    return "proj_" + secrets.token_hex(12)


def new_service_account_id() -> str:
    return "user-" + secrets.token_hex(12)


def new_invite_id() -> str:
    return "invite-" + secrets.token_hex(12)


def new_rate_limit_id() -> str:
    return "rl-" + secrets.token_hex(12)


def new_audit_id() -> str:
    return "audit_log-" + secrets.token_hex(12)


class Organization(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=new_org_id, editable=False)
    name = models.CharField(max_length=100)
    personal_for = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="personal_organization",
        help_text="the user whose own organization this is (every user gets one at sign-up)",
    )
    # Set by staff; every project's allowlist and limits can only narrow these.
    allowed_models = models.JSONField(
        default=list, blank=True, help_text="Model ids its members may call; empty means all"
    )
    rpm_limit = models.PositiveIntegerField(null=True, blank=True, help_text="requests per minute")
    tpm_limit = models.PositiveIntegerField(null=True, blank=True, help_text="tokens per minute")
    rpd_limit = models.PositiveIntegerField(null=True, blank=True, help_text="requests per day")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name


class OrganizationRole(models.TextChoices):
    OWNER = "owner", "Owner"
    READER = "reader", "Reader"


class OrganizationMember(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(
        max_length=10, choices=OrganizationRole.choices, default=OrganizationRole.READER
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("organization", "created_at", "id")
        constraints = [
            models.UniqueConstraint(fields=("organization", "user"), name="unique_org_member")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


class Project(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        ARCHIVED = "archived"

    public_id = models.CharField(max_length=40, unique=True, default=new_project_id, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="projects"
    )
    name = models.CharField(max_length=100)
    is_default = models.BooleanField(
        default=False, help_text="where keys and documents go when no project is named"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    archived_at = models.DateTimeField(null=True, blank=True)
    allowed_models = models.JSONField(
        default=list, blank=True, help_text="Model ids; empty means all the organization may use"
    )
    monthly_budget_usd = money_field(null=True, blank=True, help_text="per UTC month")
    daily_budget_usd = money_field(null=True, blank=True, help_text="per UTC day")
    member_cap_usd = money_field(
        null=True, blank=True, help_text="what each member may spend per UTC month"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("organization", "created_at", "id")
        constraints = [
            models.UniqueConstraint(
                fields=("organization",),
                condition=models.Q(is_default=True),
                name="one_default_project",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.status == self.Status.ARCHIVED


class ProjectRole(models.TextChoices):
    OWNER = "owner", "Owner"
    MEMBER = "member", "Member"


class ProjectMember(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_memberships"
    )
    role = models.CharField(max_length=10, choices=ProjectRole.choices, default=ProjectRole.MEMBER)
    cap_usd = money_field(
        null=True, blank=True, help_text="this member's own monthly cap; empty: the project's"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("project", "created_at", "id")
        constraints = [
            models.UniqueConstraint(fields=("project", "user"), name="unique_project_member")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


class ProjectRateLimit(models.Model):
    """A project's limits for one model (OpenAI's ``project.rate_limit``); empty: none."""

    public_id = models.CharField(
        max_length=40, unique=True, default=new_rate_limit_id, editable=False
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="rate_limits")
    model = models.CharField(max_length=200)
    max_requests_per_1_minute = models.PositiveIntegerField(null=True, blank=True)
    max_tokens_per_1_minute = models.PositiveIntegerField(null=True, blank=True)
    max_requests_per_1_day = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("project", "model")
        constraints = [
            models.UniqueConstraint(fields=("project", "model"), name="unique_project_model_limit")
        ]

    def __str__(self) -> str:
        return f"{self.project}: {self.model}"


class ServiceAccount(models.Model):
    """A project's member that is no person: its keys are the project's, not a user's."""

    public_id = models.CharField(
        max_length=40, unique=True, default=new_service_account_id, editable=False
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="service_accounts")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=10, choices=ProjectRole.choices, default=ProjectRole.MEMBER)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("project", "created_at", "id")

    def __str__(self) -> str:
        return self.name


class Invite(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        EXPIRED = "expired"

    public_id = models.CharField(max_length=40, unique=True, default=new_invite_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invites")
    email = models.EmailField()
    role = models.CharField(
        max_length=10, choices=OrganizationRole.choices, default=OrganizationRole.READER
    )
    # [{"id": "proj_…", "role": "member"}, …]: the projects joined on acceptance.
    projects = models.JSONField(default=list, blank=True)
    hashed_token = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.email} to {self.organization}"

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING


class AuditLogEntry(models.Model):
    """One change in an organization: who, what, before → after. Append-only."""

    public_id = models.CharField(max_length=48, unique=True, default=new_audit_id, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="audit_log"
    )
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # OpenAI's audit log event types: "project.created", "api_key.created", "invite.sent", …
    type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=60, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True)
    actor_api_key = models.ForeignKey(
        "ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_ip = models.GenericIPAddressField(null=True, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    effective_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-effective_at", "-id")
        verbose_name_plural = "audit log entries"
        indexes = [models.Index(fields=("organization", "-effective_at"), name="audit_org_recent")]

    def __str__(self) -> str:
        return f"{self.type} {self.object_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Audit log entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit log entries are append-only")
