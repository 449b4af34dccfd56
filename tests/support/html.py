"""Reading pages the way a person does: the text without tags, amounts as rendered."""

from __future__ import annotations

import html
import re


def visible_text(page) -> str:
    """The text of ``page`` (a response, bytes or str) without tags, entities decoded,
    runs of whitespace as one space."""
    if hasattr(page, "content"):
        page = page.content
    if isinstance(page, bytes):
        page = page.decode()
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page))).strip()


def money_span(shown: str, exact: str | None = None) -> str:
    """An amount as ``ground.money``'s HTML forms render it."""
    return f'<span class="money" title="{exact or shown}">{html.escape(shown)}</span>'
