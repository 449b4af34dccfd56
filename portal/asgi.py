"""ASGI entry point: ``uvicorn portal.asgi:application``.

Requests under ``/v1`` (and ``/api/v1``) and ``/metrics`` go to a lean Django handler;
everything else (pages, admin, static files) goes through Django's full stack.

The lean handler keeps Django's URL routing, views, exception handling, streaming and
client-disconnect handling, and drops what the API does not need but pays for on every
request under ASGI:

* the stock middleware (sessions, CSRF, auth, messages…), whose hooks run through
  ``sync_to_async``: the API authenticates with bearer keys and has its own middleware;
* a new thread per request (Django's ``ThreadSensitiveContext``) and the thread hops of
  ``request_started`` / ``request_finished``. Synchronous work of /v1 views (snapshot
  reloads, funds reservations) runs on asgiref's one process-wide sync thread instead,
  and that thread's database connections are checked (``close_old_connections``) by a
  background task every second instead of twice per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import close_old_connections
from django.urls import set_script_prefix

from portal.guard import RequestGuard

log = logging.getLogger(__name__)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

API_MIDDLEWARE = ["portal.middleware.ApiSurfaceMiddleware"]
API_PREFIXES = ("/v1/", "/api/v1/")
# Scraped every few seconds; needs no session, CSRF or page middleware either.
LEAN_PATHS = {"/metrics"}
CONNECTION_CHECK_SECONDS = 1.0


class ApiASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._janitor: asyncio.Task | None = None

    def load_middleware(self, is_async: bool = False) -> None:
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full

    async def __call__(self, scope, receive, send) -> None:
        if self._janitor is None or self._janitor.done():
            self._janitor = asyncio.create_task(self.check_connections())
        await self.handle(scope, receive, send)

    async def check_connections(self) -> None:
        """What ``request_started``/``request_finished`` would do, once a second, on the
        thread that runs the API's synchronous work (a broken or expired connection is
        closed and reopened on next use)."""
        while True:
            await asyncio.sleep(CONNECTION_CHECK_SECONDS)
            with contextlib.suppress(Exception):
                await sync_to_async(close_old_connections)()

    async def handle(self, scope, receive, send) -> None:
        """Django's ``ASGIHandler.handle`` without the per-request signal hops."""
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

        async def process_request():
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
        with contextlib.suppress(asyncio.CancelledError):
            # request_finished's receivers only touch this thread's (unused) connections.
            tasks[1].result().close()
        body_file.close()


django_application = get_asgi_application()
# Models import only once get_asgi_application() has set Django up.
from billing.leases import leases  # noqa: E402

api_application = ApiASGIHandler()


async def route(scope, receive, send) -> None:
    if scope["type"] == "http" and (
        scope["path"].startswith(API_PREFIXES) or scope["path"] in LEAN_PATHS
    ):
        await api_application(scope, receive, send)
    elif scope["type"] == "lifespan":
        await lifespan(receive, send)
    else:
        await django_application(scope, receive, send)


async def lifespan(receive, send) -> None:
    """Nothing to start; on shutdown (after the last request) this process's unused funds
    leases go back to their wallets. (uvicorn ends with the signal it caught, so atexit
    alone would not run.)"""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            # Everything loaded so far (Django, apps, URL and template caches) lives as
            # long as the process: out of the collector's full passes, which otherwise
            # scan it all and pause every request in flight (the c=16 p99 was ~100 ms).
            gc.collect()
            gc.freeze()
            gc.set_threshold(50_000, 20, 20)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            try:
                await sync_to_async(leases.give_all_back)()
            except Exception:  # shutdown goes on; an unreturned lease expires with its TTL
                log.exception("could not give back this process's funds leases")
            await send({"type": "lifespan.shutdown.complete"})
            return


# Bounded bodies and clean URLs before any of the above reads a byte (portal.guard).
application = RequestGuard(route)
