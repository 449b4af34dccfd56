"""The public model id in streamed chat chunks, without re-encoding them.

Upstreams name their own model in every chunk (``llama-3.3-70b-versatile``, or a dated
snapshot of the id they were asked for); clients must see the id they asked Portico for,
as in plain answers. Chunks pass as bytes: ``"model":"<upstream id>"`` is replaced in
place, and a chunk is decoded only when it names a model the rewriter has not seen yet
(then that id joins the fast path).
"""

from __future__ import annotations

import orjson

__all__ = ["StreamModelRewriter"]

_KEY = b'"model"'
_MAX_NEEDLES = 8  # an upstream naming a new model in every chunk is decoded, not learned


def needles(model: str) -> tuple[bytes, bytes]:
    """``"model":"id"`` as compact JSON writes it and as Python's ``json.dumps`` does
    (``"model": "id"``), so spaced upstreams stay on the byte path too."""
    value = orjson.dumps(model)
    return _KEY + b":" + value, _KEY + b": " + value


class StreamModelRewriter:
    """``rewrite(event) -> event`` for one stream's SSE events (``data: {...}``)."""

    __slots__ = ("_field", "_needles", "_public")

    def __init__(self, public_id: str, upstream_id: str | None = None) -> None:
        self._public = public_id
        self._field = _KEY + b":" + orjson.dumps(public_id)
        self._needles: list[bytes] = []
        if upstream_id and upstream_id != public_id:
            self._needles.extend(needles(upstream_id))

    def rewrite(self, event: bytes) -> bytes:
        event, done = self._replace_known(event)
        return event if done else self._decode_and_rewrite(event)

    def rewrite_block(self, block: bytes) -> bytes:
        """Several complete events joined by blank lines, as read from the upstream: one
        byte pass over the block, event by event only if it names an id not seen yet."""
        block, done = self._replace_known(block)
        if done:
            return block
        return b"\n\n".join(self.rewrite(event) for event in block.split(b"\n\n"))

    def _replace_known(self, data: bytes) -> tuple[bytes, bool]:
        """``data`` with the ids seen so far replaced as bytes, and whether every model
        key in it now names the public id."""
        # Inside JSON strings a quote is escaped, so an unescaped "model" is always a key.
        if _KEY not in data:
            return data, True
        for needle in self._needles:
            if needle in data:
                data = data.replace(needle, self._field)
        return data, data.count(_KEY) == data.count(self._field)

    def _decode_and_rewrite(self, event: bytes) -> bytes:
        prefix, sep, data = event.partition(b"data:")
        if not sep or b"\n" in data.strip():
            return event  # a multi-line event is not a chat chunk
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            return event
        model = payload.get("model") if isinstance(payload, dict) else None
        if not isinstance(model, str):
            return event
        if len(self._needles) < _MAX_NEEDLES:
            self._needles.extend(n for n in needles(model) if n not in self._needles)
        payload["model"] = self._public
        return prefix + b"data: " + orjson.dumps(payload)
