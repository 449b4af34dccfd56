"""The built-in ``local`` provider: offline test models, honestly labelled.

``test-chat`` streams a fixed, deterministic reply at a realistic pace (first token
after ``LOCAL_MODEL_FIRST_TOKEN_MS``, then ``LOCAL_MODEL_TOKENS_PER_SECOND``) in the
exact wire format of OpenAI's chat completions, so the playground, streaming,
metering and billing all work with no upstream key. ``test-embedding`` returns
deterministic unit vectors derived from a hash of the text. Neither understands
anything.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import struct
import time
import uuid
from collections.abc import AsyncIterator

import numpy as np
import orjson
from django.conf import settings

from ground.tokens import content_text, estimate_input_tokens, estimate_messages_tokens

REPLY = (
    "Hello! I am Portico's built-in test model. I do not understand your message: I stream "
    "this fixed reply so you can try the playground, streaming, metering and billing without "
    "an upstream provider. Connect a real provider in catalog.yaml or the admin to chat with "
    "a real model. مرحبا! هذا رد تجريبي ثابت من Portico. Your message had {words} words."
)
DEFAULT_DIMENSIONS = 256


def reply_tokens(messages: list) -> list[str]:
    last_user = next(
        (
            content_text(m.get("content"))
            for m in reversed(messages)
            if isinstance(m, dict) and m.get("role") == "user"
        ),
        "",
    )
    text = REPLY.format(words=len(last_user.split()))
    words = text.split(" ")
    return [word if i == 0 else " " + word for i, word in enumerate(words)]


def apply_stop(tokens: list[str], stop) -> tuple[list[str], bool]:
    stops = (
        [stop] if isinstance(stop, str) else [s for s in (stop or []) if isinstance(s, str) and s]
    )
    if not stops:
        return tokens, False
    text = ""
    for index, token in enumerate(tokens):
        text += token
        if any(s in text for s in stops):
            return tokens[:index], True
    return tokens, False


def plan(body: dict) -> tuple[list[str], str, int]:
    tokens = reply_tokens(body.get("messages") or [])
    tokens, _ = apply_stop(tokens, body.get("stop"))
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    finish = "stop"
    if isinstance(limit, int) and limit < len(tokens):
        tokens, finish = tokens[:limit], "length"
    prompt_tokens = estimate_messages_tokens(body.get("messages") or [])
    return tokens, finish, prompt_tokens


def usage(prompt: int, completion: int) -> dict:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def chat_completion(body: dict, model: str) -> bytes:
    tokens, finish, prompt = plan(body)
    await asyncio.sleep(
        settings.LOCAL_MODEL_FIRST_TOKEN_MS / 1000
        + len(tokens) / max(settings.LOCAL_MODEL_TOKENS_PER_SECOND, 1)
    )
    return orjson.dumps(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    # OpenAI's schema requires logprobs and refusal, null when absent.
                    "message": {"role": "assistant", "content": "".join(tokens), "refusal": None},
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
            "usage": usage(prompt, len(tokens)),
        }
    )


async def chat_completion_stream(body: dict, model: str) -> AsyncIterator[bytes]:
    tokens, finish, prompt = plan(body)
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict, finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        data = {**base, "choices": [choice]}
        return b"data: " + orjson.dumps(data) + b"\n\n"

    await asyncio.sleep(settings.LOCAL_MODEL_FIRST_TOKEN_MS / 1000)
    yield chunk({"role": "assistant", "content": ""})
    interval = 1 / max(settings.LOCAL_MODEL_TOKENS_PER_SECOND, 1)
    for index, token in enumerate(tokens):
        if index:
            await asyncio.sleep(interval)
        yield chunk({"content": token})
    yield chunk({}, finish)
    # The gateway always asks upstreams for usage; this provider always gives it.
    yield (
        b"data: "
        + orjson.dumps({**base, "choices": [], "usage": usage(prompt, len(tokens))})
        + b"\n\n"
    )
    yield b"data: [DONE]\n\n"


def embedding_vector(text: str, dimensions: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(dimensions).astype(np.float32)
    return vector / np.linalg.norm(vector)


def embeddings(body: dict, model: str) -> bytes:
    raw = body.get("input")
    inputs = (
        [raw]
        if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int))
        else raw
    )
    dimensions = body.get("dimensions") or DEFAULT_DIMENSIONS
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, item in enumerate(inputs):
        text = item if isinstance(item, str) else " ".join(str(t) for t in item)
        vector = embedding_vector(text, dimensions)
        encoded = (
            base64.b64encode(struct.pack(f"<{dimensions}f", *vector.tolist())).decode()
            if as_base64
            else vector.tolist()
        )
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = estimate_input_tokens(raw)
    return orjson.dumps(
        {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )
