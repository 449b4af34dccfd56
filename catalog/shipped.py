"""The catalog Portico ships: ``manage.py bootstrap`` loads ``catalog.yaml`` (and
``catalog.fake.yaml`` when a fake upstream is configured) and prints what happened."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings

from catalog.catalog_file import (
    env_value,
)
from catalog.load_report import LoadReport
from catalog.loading import load_catalog_file


def default_catalog_files(environ: Mapping[str, str] = os.environ) -> list[Path]:
    """``catalog.yaml``, plus ``catalog.fake.yaml`` when a fake upstream is configured."""
    base = Path(settings.BASE_DIR)
    files = [base / "catalog.yaml"]
    if env_value(environ, "FAKE_UPSTREAM_URL"):
        files.append(base / "catalog.fake.yaml")
    return files


def load_default_catalog(
    *,
    admin: Any = None,
    demo: Any = None,
    stdout: Any = None,
    environ: Mapping[str, str] = os.environ,
) -> list[LoadReport]:
    """Bootstrap hook: load the shipped catalog file(s) and print what happened."""
    reports = []
    for path in default_catalog_files(environ):
        report = load_catalog_file(path, environ=environ)
        reports.append(report)
        if stdout is not None:
            stdout.write(f"Catalog {path.name}:")
            for line in report.lines():
                stdout.write(f"  {line}")
    return reports
