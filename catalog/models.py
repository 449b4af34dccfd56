"""Providers, the models users call, and the deployments that bind one to the other.

Prices live on ``Model``: one price table for tokens, OCR pages and retrieval queries.
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from ground.crypto import decrypt, encrypt
from ground.money import money_field


def validate_base_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Enter an http:// or https:// URL with a host name.")


PER_MILLION = Decimal(1_000_000)


class Provider(models.Model):
    class Kind(models.TextChoices):
        OPENAI = "openai", "OpenAI-compatible"
        ANTHROPIC = "anthropic", "Anthropic Messages"
        LOCAL = "local", "Built-in (offline test models)"

    name = models.SlugField(max_length=60, unique=True, help_text="Used in ids: provider/model")
    label = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OPENAI)
    base_url = models.CharField(
        max_length=300,
        blank=True,
        validators=[validate_base_url],
        help_text="e.g. https://api.groq.com/openai/v1 or http://ollama:11434/v1",
    )
    api_key_encrypted = models.TextField(blank=True, editable=False)
    extra_headers = models.JSONField(default=dict, blank=True)
    connect_timeout = models.FloatField(default=5.0, help_text="seconds")
    first_byte_timeout = models.FloatField(default=60.0, help_text="seconds to the first byte")
    total_timeout = models.FloatField(default=600.0, help_text="seconds for the whole response")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return self.label or self.name

    def set_api_key(self, raw: str) -> None:
        self.api_key_encrypted = encrypt(settings.API_KEY_SECRET, raw)

    def get_api_key(self) -> str:
        return decrypt(settings.API_KEY_SECRET, self.api_key_encrypted)

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_encrypted)


class Model(models.Model):
    class Type(models.TextChoices):
        LLM = "llm", "LLM"
        EMBEDDING = "embedding", "Embedding"
        OCR = "ocr", "OCR (priced per page)"
        RETRIEVAL = "retrieval", "Retrieval (priced per query)"

    public_id = models.CharField(max_length=200, unique=True)
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.LLM)
    name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    owned_by = models.CharField(max_length=100, blank=True, help_text="Shown in /v1/models")
    context_window = models.PositiveIntegerField(null=True, blank=True)
    max_output_tokens = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Cap used to reserve funds when a request sets no max_tokens",
    )
    input_price_per_1m = money_field(default=Decimal(0))
    output_price_per_1m = money_field(default=Decimal(0))
    cached_input_price_per_1m = money_field(null=True, blank=True)
    unit_price = money_field(
        default=Decimal(0), help_text="USD per OCR page or per retrieval query"
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("public_id",)

    def __str__(self) -> str:
        return self.public_id


class Deployment(models.Model):
    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="deployments")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="deployments")
    upstream_model = models.CharField(max_length=200, help_text="The model name the provider knows")
    priority = models.PositiveSmallIntegerField(default=1, help_text="Lower is tried first")
    weight = models.PositiveSmallIntegerField(default=1, help_text="Share within a priority")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ("model", "priority", "-weight")
        constraints = [
            models.UniqueConstraint(
                fields=("model", "provider", "upstream_model"), name="unique_deployment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model} → {self.provider}/{self.upstream_model}"


class LatencyRollup(models.Model):
    """Hourly latency statistics per model × provider, as histograms that merge."""

    hour = models.DateTimeField()
    model = models.CharField(max_length=200)
    provider = models.CharField(max_length=60)
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    latency_ms_sum = models.BigIntegerField(default=0)
    latency_hist = models.JSONField(
        default=dict, help_text="catalog.latency buckets: {index: count}"
    )
    ttft_count = models.PositiveIntegerField(default=0)
    ttft_ms_sum = models.BigIntegerField(default=0)
    ttft_hist = models.JSONField(default=dict, help_text="catalog.latency buckets: {index: count}")
    output_tokens = models.BigIntegerField(default=0)
    generation_ms = models.BigIntegerField(
        default=0, help_text="time spent producing output tokens"
    )
    overhead_count = models.PositiveIntegerField(default=0)
    overhead_us_sum = models.BigIntegerField(
        default=0, help_text="Portico's own time (microseconds) around the upstream call"
    )

    class Meta:
        db_table = "gateway_latencyrollup"
        constraints = [
            models.UniqueConstraint(
                fields=("hour", "model", "provider"), name="unique_latency_rollup"
            )
        ]
        indexes = [models.Index(fields=("model", "hour"), name="latency_model_hour")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {self.model} via {self.provider}"
