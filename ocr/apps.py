from __future__ import annotations

import os

from django.apps import AppConfig
from django.conf import settings


class OcrConfig(AppConfig):
    name = "ocr"
    verbose_name = "OCR"

    def ready(self) -> None:
        # Each worker process runs one Tesseract; OpenMP threads on top of several worker
        # processes only fight over the same cores (must be set before it loads).
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        # Imported here, after the line above: the engine loads Tesseract. The tasks are
        # registered here because the use cases queue them by name (``ocr.queueing``): a
        # process that runs tasks inline (CELERY_TASK_ALWAYS_EAGER) must know them.
        from ocr import tasks  # noqa: F401
        from ocr.engine import limits

        limits.configure(
            limits.PdfLimits.from_mb(
                stream=settings.OCR_MAX_STREAM_MB,
                page_content=settings.OCR_MAX_PAGE_CONTENT_MB,
                page_images=settings.OCR_MAX_PAGE_IMAGE_MB,
                document=settings.OCR_MAX_DECODED_MB,
            )
        )
