"""Static files: Django's app, minus the ReDoc bundle django-ninja ships (unused:
/v1/docs is Swagger UI), which would only slow down collectstatic and compression."""

from __future__ import annotations

from django.contrib.staticfiles.apps import StaticFilesConfig


class PorticoStaticFilesConfig(StaticFilesConfig):
    ignore_patterns = [*StaticFilesConfig.ignore_patterns, "redoc*"]
