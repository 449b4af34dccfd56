"""The chat request the playground sends through the gateway's pipeline."""

from __future__ import annotations

# The chat parameters the playground offers; anything else a client sends is dropped,
# so the session-authenticated endpoint is no broader than the page.
CHAT_FIELDS = ("model", "messages", "temperature", "top_p", "max_tokens")


def chat_body(body: dict) -> dict:
    """The request the playground sends: always streamed, always with the usage chunk
    (the page shows the token counts from it)."""
    chat = {name: body[name] for name in CHAT_FIELDS if name in body}
    chat["stream"] = True
    chat["stream_options"] = {"include_usage": True}
    return chat
