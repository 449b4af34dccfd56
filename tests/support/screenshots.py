"""Screenshots of pages for reviewers, kept by CI as test artifacts."""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.conf import settings


def artifacts_dir() -> Path:
    """``$PORTICO_ARTIFACTS_DIR``, else ``var/test/artifacts/screenshots/`` under the var dir."""
    configured = os.environ.get("PORTICO_ARTIFACTS_DIR")
    path = (
        Path(configured) if configured else settings.VAR_DIR / "test" / "artifacts" / "screenshots"
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """A PNG of ``page`` named ``<name>-<viewport width>.png``; returns its path."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "page"
    path = artifacts_dir() / f"{safe}-{width}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
