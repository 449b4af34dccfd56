"""OCR jobs and their pages.

A job is one uploaded PDF, known to its owner by a random ``token``. Its pages are
created with the job (``pending``) and filled in by one Celery task each. ``attempt``
numbers the runs of a job (0 for the upload, +1 per retry); each run has its own funds
hold and usage record, both keyed ``ocr_<token>_<attempt>``. After ``expires_at`` the
files and page data are deleted and the row stays as a tombstone (``purged_at``) so the
token keeps answering 410.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from ground.money import money_field


class OcrJobQuerySet(models.QuerySet):
    def own(self) -> OcrJobQuerySet:
        """The users' own OCR jobs: not the readings done for another app."""
        return self.exclude(source__in=OcrJob.SERVING)


class OcrJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        PROCESSING = "processing"
        DONE = "done"
        ERROR = "error"

    class Source(models.TextChoices):
        API = "api", "API key"
        PORTAL = "portal", "Portal upload"
        # Reading the pages of a PDF for another app (``ocr.readings``): not the user's
        # own OCR job, so neither /v1/ocr nor the OCR page shows it; that app settles it.
        RETRIEVAL = "retrieval", "Retrieval document"

    FINISHED = (Status.DONE, Status.ERROR)
    SERVING = (Source.RETRIEVAL,)

    token = models.CharField(max_length=64, unique=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    reference = models.CharField(
        max_length=64, blank=True, help_text="What it reads for, in the app it serves"
    )
    filename = models.CharField(max_length=255)
    size_bytes = models.PositiveBigIntegerField(default=0)
    original_name = models.CharField(max_length=300, blank=True, help_text="Path in storage")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    total_pages = models.PositiveIntegerField()
    pages_done = models.PositiveIntegerField(default=0)
    pages_failed = models.PositiveIntegerField(default=0, help_text="In the current attempt")
    dpi = models.PositiveSmallIntegerField(default=300)
    language = models.CharField(
        max_length=10, blank=True, help_text="ara, eng or ara+eng; empty means automatic"
    )
    unit_price_usd = money_field(default=Decimal(0))
    attempt = models.PositiveSmallIntegerField(default=0)
    billed_attempt = models.SmallIntegerField(
        default=-1, help_text="Last attempt whose usage event was emitted"
    )
    retry_count = models.PositiveSmallIntegerField(default=0)
    retryable = models.BooleanField(default=False)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    purged_at = models.DateTimeField(null=True, blank=True)

    objects = OcrJobQuerySet.as_manager()

    class Meta:
        ordering = ("-id",)
        indexes = [
            models.Index(fields=("owner", "-id"), name="ocrjob_owner_recent"),
            models.Index(fields=("status", "id"), name="ocrjob_status"),
            models.Index(fields=("expires_at", "purged_at"), name="ocrjob_expiry"),
            models.Index(fields=("next_retry_at",), name="ocrjob_next_retry"),
            models.Index(fields=("source", "reference"), name="ocrjob_serving"),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.token[:8]}…, {self.status})"

    @property
    def progress(self) -> int:
        """Percent of pages done; 100 only when every page is."""
        if not self.total_pages:
            return 0
        return self.pages_done * 100 // self.total_pages

    @property
    def serving(self) -> bool:
        """Reading for another app, which takes the pages and settles them."""
        return self.source in self.SERVING

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def expired(self) -> bool:
        return self.purged_at is not None or self.expires_at <= timezone.now()

    @property
    def request_id(self) -> str:
        """The funds hold and usage record of the current attempt."""
        return f"ocr_{self.token}_{self.attempt}"


class OcrPage(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        ERROR = "error"

    job = models.ForeignKey(OcrJob, on_delete=models.CASCADE, related_name="pages")
    page_num = models.PositiveIntegerField(help_text="1-based")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempt = models.PositiveSmallIntegerField(default=0, help_text="The run that finished it")
    text = models.TextField(blank=True)
    segments = models.JSONField(default=list, blank=True)
    lines = models.JSONField(default=list, blank=True)
    words = models.JSONField(default=list, blank=True, help_text="OCR'd words with boxes")
    preprocessing = models.JSONField(default=list, blank=True)
    num_segments = models.PositiveIntegerField(default=0)
    language = models.CharField(max_length=10, blank=True)
    skew_angle = models.FloatField(default=0.0)
    rotation = models.PositiveSmallIntegerField(default=0)
    path = models.CharField(max_length=12, blank=True, help_text="text_layer or ocr")
    elapsed = models.FloatField(default=0.0, help_text="seconds")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    image_name = models.CharField(max_length=300, blank=True)
    thumbnail_name = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True, help_text="Its task last queued")
    started_at = models.DateTimeField(null=True, blank=True, help_text="A worker took it")
    requeues = models.PositiveSmallIntegerField(default=0, help_text="Lost tasks sent again")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("job", "page_num")
        constraints = [
            models.UniqueConstraint(fields=("job", "page_num"), name="unique_ocr_page"),
        ]

    def __str__(self) -> str:
        return f"page {self.page_num} of {self.job_id} ({self.status})"
