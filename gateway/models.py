"""API keys, usage records and the hourly rollups that the portal and catalog read."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

MONEY = {"max_digits": 20, "decimal_places": 10}


class Scope(models.TextChoices):
    MODELS = "models", "List models and the catalog"
    CHAT = "chat", "Chat completions and responses"
    EMBEDDINGS = "embeddings", "Embeddings"
    OCR = "ocr", "OCR"
    RETRIEVAL = "alretrieval", "Retrieval"
    USAGE = "usage", "Usage and wallet"


ALL_SCOPES = [scope.value for scope in Scope]


class ApiKey(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
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
    daily_budget_usd = models.DecimalField(null=True, blank=True, **MONEY)
    monthly_budget_usd = models.DecimalField(null=True, blank=True, **MONEY)
    total_budget_usd = models.DecimalField(null=True, blank=True, **MONEY)
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


class UsageRecord(models.Model):
    class Status(models.TextChoices):
        OK = "ok"
        ERROR = "error"
        CANCELLED = "cancelled"

    request_id = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model = models.CharField(max_length=200)
    provider = models.CharField(max_length=60, blank=True)
    deployment_id = models.BigIntegerField(null=True, blank=True)
    upstream_model = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, default="api_key")
    endpoint = models.CharField(max_length=40, default="chat.completions")
    stream = models.BooleanField(default=False)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    tokens_reported = models.BooleanField(
        default=True, help_text="True when the upstream reported the counts; False when estimated"
    )
    estimated_prompt_tokens = models.PositiveIntegerField(default=0)
    units = models.PositiveIntegerField(default=0, help_text="OCR pages or retrieval queries")
    cost_usd = models.DecimalField(default=Decimal(0), **MONEY)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OK)
    http_status = models.PositiveSmallIntegerField(default=200)
    error_code = models.CharField(max_length=60, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    ttft_ms = models.PositiveIntegerField(null=True, blank=True)
    fallbacks = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-id",)
        indexes = [
            models.Index(fields=("user", "-id"), name="usage_user_recent"),
            models.Index(fields=("user", "model", "-id"), name="usage_user_model_recent"),
            models.Index(fields=("user", "created_at"), name="usage_user_created"),
            models.Index(fields=("user", "model", "created_at"), name="usage_user_model_created"),
        ]

    def __str__(self) -> str:
        return self.request_id

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class UsageRollup(models.Model):
    """Hourly totals per user × key × model × source, kept as records arrive."""

    hour = models.DateTimeField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    model = models.CharField(max_length=200)
    source = models.CharField(max_length=20)
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    units = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(default=Decimal(0), **MONEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=("hour", "user", "api_key", "model", "source"),
                name="unique_usage_rollup",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=("user", "hour"), name="rollup_user_hour")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {self.model} ({self.source})"


class LatencyRollup(models.Model):
    """Hourly latency statistics per model × provider, as histograms that merge."""

    hour = models.DateTimeField()
    model = models.CharField(max_length=200)
    provider = models.CharField(max_length=60)
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    latency_ms_sum = models.BigIntegerField(default=0)
    latency_hist = models.JSONField(default=list)
    ttft_count = models.PositiveIntegerField(default=0)
    ttft_ms_sum = models.BigIntegerField(default=0)
    ttft_hist = models.JSONField(default=list)
    output_tokens = models.BigIntegerField(default=0)
    generation_ms = models.BigIntegerField(
        default=0, help_text="time spent producing output tokens"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=("hour", "model", "provider"), name="unique_latency_rollup"
            )
        ]
        indexes = [models.Index(fields=("model", "hour"), name="latency_model_hour")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {self.model} via {self.provider}"
