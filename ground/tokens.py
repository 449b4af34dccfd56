"""Offline token estimates, used when an upstream does not report usage.

No tokenizer download is possible here, so the estimate is byte-based: about four
bytes of UTF-8 per token for English, which also gives Arabic (two bytes per
letter) a sensible count. Good enough to reserve funds and rate-limit tokens; the
upstream's own counts replace it whenever they are reported.
"""

from __future__ import annotations

import json
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


# --- Worst case, for funds holds ------------------------------------------------------------
# A hold must cover what the upstream can bill. Text is counted at two bytes per token
# (tokenizers stay above that even for code, CJK or Arabic), and every part the upstream
# bills besides text has a ceiling; what cannot be bounded holds the model's context window.
WORST_BYTES_PER_TOKEN = 2
IMAGE_PART_TOKENS = 2_000  # high-detail images: OpenAI ≤ ~1,500, Anthropic ≤ ~1,600
AUDIO_PART_MIN_TOKENS = 200
AUDIO_BASE64_CHARS_PER_TOKEN = 32  # ≥ 10 tokens/s even for 8 kb/s audio
UNBOUNDED_CONTEXT = 200_000  # a model without a known context window
IMAGE_TYPES = {"image_url", "input_image", "image"}
AUDIO_TYPES = {"input_audio", "audio"}
FILE_TYPES = {"file", "input_file", "document"}


class Unbounded(Exception):
    """An input whose billed size cannot be known before the upstream reads it."""


def worst_text_tokens(value: object) -> int:
    if value is None:
        return 0
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return -(-len(text.encode("utf-8", "surrogatepass")) // WORST_BYTES_PER_TOKEN)


def worst_part_tokens(part: object) -> int:
    if isinstance(part, str):
        return worst_text_tokens(part)
    if not isinstance(part, dict):
        return worst_text_tokens(part)
    kind = part.get("type")
    if kind in IMAGE_TYPES:
        return IMAGE_PART_TOKENS
    if kind in AUDIO_TYPES:
        audio = part.get("input_audio") or part.get("audio") or {}
        data = audio.get("data", "") if isinstance(audio, dict) else ""
        return max(AUDIO_PART_MIN_TOKENS, len(str(data)) // AUDIO_BASE64_CHARS_PER_TOKEN)
    if kind in FILE_TYPES:
        raise Unbounded(kind)
    return worst_text_tokens(part.get("text") if "text" in part else part)


def worst_case_prompt_tokens(body: dict, context_window: int | None) -> int:
    """The most input tokens an upstream can bill for a chat request ``body``."""
    ceiling = context_window or UNBOUNDED_CONTEXT
    total = PER_REQUEST_OVERHEAD
    try:
        for message in body.get("messages") or []:
            if not isinstance(message, dict):
                continue
            total += PER_MESSAGE_OVERHEAD
            content = message.get("content")
            parts = content if isinstance(content, list) else [content]
            total += sum(worst_part_tokens(part) for part in parts if part is not None)
            total += worst_text_tokens(message.get("tool_calls"))
            if total >= ceiling:
                return ceiling
        total += worst_text_tokens(body.get("tools")) + worst_text_tokens(body.get("functions"))
        total += worst_text_tokens(body.get("response_format"))
    except Unbounded:
        return ceiling
    return min(total, ceiling)


def worst_case_input_tokens(value: object) -> int:
    """The most tokens an embedding ``input`` can be billed as."""
    if isinstance(value, str):
        return worst_text_tokens(value)
    if isinstance(value, list):
        if value and all(isinstance(item, int) for item in value):
            return len(value)
        return sum(worst_case_input_tokens(item) for item in value)
    return 0
