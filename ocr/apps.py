from __future__ import annotations

import os

from django.apps import AppConfig


class OcrConfig(AppConfig):
    name = "ocr"
    verbose_name = "OCR"

    def ready(self) -> None:
        # Each worker process runs one Tesseract; OpenMP threads on top of several worker
        # processes only fight over the same cores (must be set before it loads).
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
