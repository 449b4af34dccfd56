"""Deterministic completion text, token counting and embedding vectors.

Counting rules (documented in README.md, relied upon by tests):

* text tokens of a string ``s``: ``ceil(len(s) / 4)``;
* a chat message (OpenAI or Anthropic) costs ``4 + text tokens`` of its text content, where
  the text content is the ``content`` string, or the ``text`` of every part of a content
  list that has one; each part without ``text`` (images, tool results, ...) costs a flat
  :data:`NON_TEXT_PART_TOKENS`;
* an Anthropic ``system`` prompt (string or list of text blocks) counts as one more message;
* an embedding input costs ``ceil(len(s) / 4)`` for a string and ``len(ids)`` for a list of
  token ids.

The completion is ``n`` tokens, token ``i`` being ``WORDS[i % len(WORDS)] + " "``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

WORDS: tuple[str, ...] = (
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
)
MESSAGE_OVERHEAD_TOKENS = 4
NON_TEXT_PART_TOKENS = 85


def completion_tokens_list(n: int) -> list[str]:
    """The first ``n`` completion tokens (each a word followed by a space)."""
    return list(_token_cycle(n))


@lru_cache(maxsize=64)
def _token_cycle(n: int) -> tuple[str, ...]:
    return tuple(WORDS[i % len(WORDS)] + " " for i in range(n))


def completion_text(n: int) -> str:
    """The text of a completion of ``n`` tokens, as the server produces it."""
    return "".join(_token_cycle(n))


@dataclass(slots=True)
class Completion:
    """What the server will generate for one request."""

    tokens: list[str]
    finish: str  # "stop" | "length" | "stop_sequence"
    stop_sequence: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def words_of(text: str) -> list[str]:
    """A configured ``completion_text`` as tokens: one per word, the space before it kept."""
    words = text.split(" ")
    return [word if i == 0 else " " + word for i, word in enumerate(words) if word or i == 0]


def plan_completion(
    configured: int,
    max_tokens: int | None,
    stops: Sequence[str] = (),
    text: str | None = None,
) -> Completion:
    """Tokens to produce given the configured length (or ``text``: the words of a
    configured ``completion_text``), ``max_tokens`` and stop sequences.

    A stop sequence cuts the text right before its first occurrence (the sequence itself is
    not returned, like the real APIs); a token straddling the cut is shortened.
    """
    source = words_of(text) if text is not None else None
    if source is not None:
        configured = len(source)
    n = configured if max_tokens is None else min(configured, max(max_tokens, 0))
    finish = "length" if max_tokens is not None and max_tokens < configured else "stop"
    tokens = source[:n] if source is not None else list(_token_cycle(n))
    stops = [s for s in stops if s]
    if not stops:
        return Completion(tokens, finish)
    text = "".join(tokens)
    hits = [(text.find(s), s) for s in stops if s in text]
    if not hits:
        return Completion(tokens, finish)
    cut, matched = min(hits)
    return Completion(_cut_tokens(tokens, cut), "stop_sequence", matched)


def _cut_tokens(tokens: list[str], cut: int) -> list[str]:
    kept: list[str] = []
    length = 0
    for tok in tokens:
        if length + len(tok) > cut:
            if cut > length:
                kept.append(tok[: cut - length])
            break
        kept.append(tok)
        length += len(tok)
    return kept


def text_tokens(text: str) -> int:
    return -(-len(text) // 4)


def _content_tokens(content: Any) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return text_tokens(content)
    if isinstance(content, list):
        total = 0
        for part in content:
            if isinstance(part, str):
                total += text_tokens(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                total += text_tokens(part["text"])
            else:
                total += NON_TEXT_PART_TOKENS
        return total
    return NON_TEXT_PART_TOKENS


def messages_tokens(messages: Iterable[Any]) -> int:
    """Prompt tokens of a list of chat messages (OpenAI or Anthropic shape)."""
    total = 0
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else message
        total += MESSAGE_OVERHEAD_TOKENS + _content_tokens(content)
    return total


def anthropic_input_tokens(system: Any, messages: Iterable[Any]) -> int:
    total = messages_tokens(messages)
    if system:
        total += MESSAGE_OVERHEAD_TOKENS + _content_tokens(system)
    return total


# --- embeddings -------------------------------------------------------------------------

EmbeddingInput = str | list[int]


def normalize_embedding_input(raw: Any) -> list[EmbeddingInput] | None:
    """Accept a string, a list of strings, a list of token ids or a list of id lists."""
    if isinstance(raw, str):
        return [raw]
    if not isinstance(raw, list) or not raw:
        return None
    if all(_is_token_id(x) for x in raw):
        return [list(raw)]
    out: list[EmbeddingInput] = []
    for item in raw:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, list) and all(_is_token_id(x) for x in item):
            out.append(list(item))
        else:
            return None
    return out


def _is_token_id(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def embedding_input_tokens(item: EmbeddingInput) -> int:
    return text_tokens(item) if isinstance(item, str) else len(item)


def embedding_vector(item: EmbeddingInput, dims: int) -> np.ndarray:
    """A unit-norm float32 vector seeded from a hash of the input."""
    raw = item.encode() if isinstance(item, str) else b"ids:" + ",".join(map(str, item)).encode()
    seed = int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "little")
    vec = np.random.default_rng(seed).standard_normal(dims, dtype=np.float32)
    norm = float(np.linalg.norm(vec))
    return vec / np.float32(norm if norm else 1.0)


def embedding_base64(vec: np.ndarray) -> str:
    """OpenAI's ``encoding_format: "base64"``: little-endian float32 bytes, base64."""
    return base64.b64encode(vec.astype("<f4").tobytes()).decode()
