"""Admitted calls for tests that drive a use case directly: the use cases that spend
money on a model take the caller's admission (``gateway.admission``), as views do."""

from __future__ import annotations

from asgiref.sync import async_to_sync

from accounts.snapshots import key_context_from, session_context
from gateway.admission import admit_model
from gateway.call import Call


def admitted_call(user, *models: str, key=None, source: str = "api_key") -> Call:
    """A call by ``user`` (or through ``key``) admitted to use ``models``; an
    ``ApiError`` if admission refuses, exactly as a view would get it."""
    call = Call(source=source)
    call.ctx = key_context_from(key) if key is not None else session_context(user, "portal")

    async def admit() -> None:
        for model in models:
            await admit_model(call, model)

    async_to_sync(admit)()
    return call
