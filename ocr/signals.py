"""What OCR announces to the apps above it (which connect in their ``AppConfig.ready``;
OCR imports none of them).

``pages_read``: a job reading a PDF for another app (``OcrJob.serving``, see
``ocr.readings``) finished its run, every page read or failed for good. Sent with
``job``, after the job's outcome is committed; the receiver takes the pages with
``ocr.readings.take_reading`` (idempotent: a second signal, or the app's own sweep,
finds them taken).
"""

from __future__ import annotations

from django.dispatch import Signal

pages_read = Signal()
