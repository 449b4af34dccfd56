"""What-if: Portico's /v1 handler without Django's per-request thread machinery.

    uvicorn gatewaybench.lean_asgi:application     # with bench/ on PYTHONPATH

Django's ``ASGIHandler`` does three things per request that an API of async views does
not need, and each costs a thread or a thread hop:

* ``async with ThreadSensitiveContext()``: a new one-thread executor per request, so the
  first thread-sensitive ``sync_to_async`` call starts a thread, and leaving the context
  starts another thread to join it (asgiref ≥ 3.9).
* ``request_started.asend()``: its receivers are sync (``reset_queries``,
  ``close_old_connections``), so it hops to that thread.
* ``sync_to_async(response.close)()``: one more hop, to send ``request_finished``.

This handler serves ``/v1`` exactly like Portico's own one, minus those three: sync work
(``sync_to_async`` in the gateway: key and catalog reloads, funds reservations) runs on
asgiref's process-wide thread, and ``response.close()`` runs inline. Everything else,
pages and admin, is Portico's application unchanged. The benchmark runs it to show what
the change would buy; it is not used by Portico.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.urls import set_script_prefix

import portal.asgi

API_PREFIXES: tuple[str, ...] = getattr(portal.asgi, "API_PREFIXES", ("/v1/", "/api/v1/"))
BaseHandler: type[ASGIHandler] = getattr(portal.asgi, "ApiASGIHandler", ASGIHandler)


class LeanApiHandler(BaseHandler):  # type: ignore[valid-type, misc]
    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        # No ThreadSensitiveContext: thread-sensitive calls share asgiref's single
        # process-wide thread (and its database connection) instead of a new thread each.
        await self.handle(scope, receive, send)

    async def handle(self, scope: dict, receive: Any, send: Any) -> None:
        """Django's ``ASGIHandler.handle`` without the request_started / request_finished hops."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            return

        async def process_request() -> Any:
            response = await self.run_get_response(request)
            with contextlib.suppress(asyncio.CancelledError):  # the client went away
                await self.send_response(response, send)
            return response

        # As in Django: a disconnect while the view runs cancels it (streams stop upstream).
        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request()),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                with contextlib.suppress(RequestAborted):
                    task.result()
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            pass
        else:
            response.close()  # inline: its request_finished receivers do no I/O here
        body_file.close()


lean_api = LeanApiHandler()


async def application(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"].startswith(API_PREFIXES):
        await lean_api(scope, receive, send)
    else:
        await portal.asgi.application(scope, receive, send)
