"""Usage records (one per request) and the hourly rollups the portal reads."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from ground.money import money_field


class UsageRecord(models.Model):
    class Status(models.TextChoices):
        OK = "ok"
        ERROR = "error"
        CANCELLED = "cancelled"

    request_id = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Whose wallet paid and whose budgets it counts against (``usage.drain.place_events``).
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # led by the indexes below
    )
    project = models.ForeignKey(
        "accounts.Project",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
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
    cost_usd = money_field(default=Decimal(0))
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OK)
    http_status = models.PositiveSmallIntegerField(default=200)
    error_code = models.CharField(max_length=60, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    ttft_ms = models.PositiveIntegerField(null=True, blank=True)
    fallbacks = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "gateway_usagerecord"
        ordering = ("-id",)
        indexes = [
            models.Index(fields=("user", "-id"), name="usage_user_recent"),
            models.Index(fields=("user", "model", "-id"), name="usage_user_model_recent"),
            models.Index(fields=("user", "created_at"), name="usage_user_created"),
            models.Index(fields=("user", "model", "created_at"), name="usage_user_model_created"),
            models.Index(fields=("organization", "-id"), name="usage_org_recent"),
            models.Index(fields=("project", "-id"), name="usage_project_recent"),
        ]

    def __str__(self) -> str:
        return self.request_id

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class UsageRollup(models.Model):
    """Hourly totals per organization × project × user × key × model × source, kept as
    records arrive; what project budgets and member caps count as spent (``billing.caps``)."""

    hour = models.DateTimeField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    project = models.ForeignKey(
        "accounts.Project",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    model = models.CharField(max_length=200)
    source = models.CharField(max_length=20)
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    units = models.BigIntegerField(default=0)
    cost_usd = money_field(default=Decimal(0))

    class Meta:
        db_table = "gateway_usagerollup"
        constraints = [
            models.UniqueConstraint(
                fields=("hour", "user", "api_key", "organization", "project", "model", "source"),
                name="unique_usage_rollup_placed",
                nulls_distinct=False,
            )
        ]
        indexes = [
            models.Index(fields=("user", "hour"), name="rollup_user_hour"),
            models.Index(fields=("organization", "hour"), name="rollup_org_hour"),
            models.Index(fields=("project", "user", "hour"), name="rollup_project_user_hour"),
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {self.model} ({self.source})"


class DeadUsageEvent(models.Model):
    """A usage event the drain could not record, kept with the reason for an operator."""

    request_id = models.CharField(max_length=64, blank=True)
    payload = models.TextField()
    error = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-id",)
        verbose_name = "parked usage event"

    def __str__(self) -> str:
        return self.request_id or f"unreadable event {self.pk}"
