"""Offline token estimates, used when an upstream does not report usage.

No tokenizer download is possible here, so the estimate is byte-based: about four
bytes of UTF-8 per token for English, which also gives Arabic (two bytes per
letter) a sensible count. Good enough to reserve funds and rate-limit tokens; the
upstream's own counts replace it whenever they are reported.
"""

from __future__ import annotations

from collections.abc import Iterable

BYTES_PER_TOKEN = 4
PER_MESSAGE_OVERHEAD = 4
PER_REQUEST_OVERHEAD = 3


def estimate_text_tokens(text: str) -> int:
    if not text:
        return 0
    return max(1, -(-len(text.encode("utf-8")) // BYTES_PER_TOKEN))


def content_text(content: object) -> str:
    """The text of a chat message's ``content`` (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    parts.append(text)
                elif part.get("type") in {"image_url", "input_image", "image"}:
                    parts.append("x" * 85 * BYTES_PER_TOKEN)  # a low-detail image costs ~85 tokens
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return ""


def estimate_messages_tokens(messages: Iterable[dict]) -> int:
    total = PER_REQUEST_OVERHEAD
    for message in messages:
        if not isinstance(message, dict):
            continue
        total += PER_MESSAGE_OVERHEAD + estimate_text_tokens(content_text(message.get("content")))
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict):
                function = call.get("function") or {}
                total += estimate_text_tokens(str(function.get("name", "")))
                total += estimate_text_tokens(str(function.get("arguments", "")))
    return total


def estimate_input_tokens(value: object) -> int:
    """Embedding ``input``: a string, a list of strings, or token arrays."""
    if isinstance(value, str):
        return estimate_text_tokens(value)
    if isinstance(value, list):
        if value and all(isinstance(item, int) for item in value):
            return len(value)
        return sum(estimate_input_tokens(item) for item in value)
    return 0
