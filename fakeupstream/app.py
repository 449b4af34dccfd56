"""The raw ASGI application: routing, ``/v1/models`` and the ``/_control`` API."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from fakeupstream import anthropic_api, openai_api
from fakeupstream.asgi import Conn, Receive, Scope, Send, hide_expected_error_logs
from fakeupstream.common import ANTHROPIC, OPENAI, Ctx, Dialect, admit
from fakeupstream.state import ConfigError, State

ENV_CONFIG = "FAKEUPSTREAM_CONFIG"

Generation = Callable[[Ctx], Awaitable[None]]
Handler = Callable[[Scope, Conn, bytes], Awaitable[None]]

GENERATION_ROUTES: dict[str, tuple[Generation, Dialect]] = {
    "/v1/chat/completions": (openai_api.chat_completions, OPENAI),
    "/v1/embeddings": (openai_api.embeddings, OPENAI),
    "/v1/messages": (anthropic_api.messages, ANTHROPIC),
}


class FakeUpstreamApp:
    """ASGI 3 application imitating OpenAI / Anthropic upstreams.

    ``initial`` is the startup configuration (same keys as ``POST /_control/config``);
    ``POST /_control/reset`` returns to it.
    """

    def __init__(self, initial: Mapping[str, Any] | None = None) -> None:
        self.state = State(initial)
        hide_expected_error_logs()
        self._control: dict[tuple[str, str], Handler] = {
            ("GET", "/_control/health"): self._health,
            ("GET", "/_control/config"): self._get_config,
            ("POST", "/_control/config"): self._post_config,
            ("POST", "/_control/reset"): self._reset,
            ("GET", "/_control/tally"): self._tally,
            ("POST", "/_control/tally/reset"): self._reset_tally,
            ("GET", "/_control/last_request"): self._last_request,
            ("GET", "/_control/requests"): self._requests,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        conn = Conn(receive, send)
        try:
            body = await conn.read_body()
            if conn.disconnected:
                return
            await self._dispatch(scope, conn, body)
        finally:
            conn.close()

    async def _dispatch(self, scope: Scope, conn: Conn, body: bytes) -> None:
        path, method = scope["path"], scope["method"]
        route = GENERATION_ROUTES.get(path)
        if route is not None:
            handler, dialect = route
            if method != "POST":
                await conn.json(405, dialect.error(405, f"Method {method} not allowed"))
                return
            ctx = await admit(self.state, scope, conn, body, dialect)
            if ctx is not None:
                await handler(ctx)
            return
        if path.startswith("/v1/models") and method == "GET":
            self.state.record(scope, body)
            await self._serve_models(conn, path)
            return
        control = self._control.get((method, path))
        if control is not None:
            await control(scope, conn, body)
            return
        if path.startswith("/v1/"):
            self.state.record(scope, body)
        await conn.json(404, OPENAI.error(404, f"Unknown route {method} {path}"))

    async def _serve_models(self, conn: Conn, path: str) -> None:
        created = int(time.time())
        models = [
            {"id": model, "object": "model", "created": created, "owned_by": "fake"}
            for model in self.state.config.models
        ]
        if path == "/v1/models":
            await conn.json(200, {"object": "list", "data": models})
            return
        wanted = path.removeprefix("/v1/models/")
        found = next((m for m in models if m["id"] == wanted), None)
        if found is None:
            message = f"The model `{wanted}` does not exist or you do not have access to it."
            await conn.json(404, OPENAI.error(404, message))
        else:
            await conn.json(200, found)

    # --- control API -----------------------------------------------------------------

    async def _health(self, scope: Scope, conn: Conn, body: bytes) -> None:
        await conn.json(200, {"ok": True})

    async def _get_config(self, scope: Scope, conn: Conn, body: bytes) -> None:
        await conn.json(200, self.state.config.as_json())

    async def _post_config(self, scope: Scope, conn: Conn, body: bytes) -> None:
        try:
            data = orjson.loads(body or b"{}")
            if not isinstance(data, dict):
                raise ConfigError("config must be a JSON object")
            self.state.config.update(data)
        except (orjson.JSONDecodeError, ConfigError) as exc:
            await conn.json(400, {"error": str(exc)})
            return
        await conn.json(200, self.state.config.as_json())

    async def _reset(self, scope: Scope, conn: Conn, body: bytes) -> None:
        self.state.reset()
        await conn.json(200, self.state.config.as_json())

    async def _tally(self, scope: Scope, conn: Conn, body: bytes) -> None:
        await conn.json(200, self.state.tally.as_json())

    async def _reset_tally(self, scope: Scope, conn: Conn, body: bytes) -> None:
        self.state.reset_tally()
        await conn.json(200, self.state.tally.as_json())

    async def _last_request(self, scope: Scope, conn: Conn, body: bytes) -> None:
        last = self.state.log[-1].as_json() if self.state.log else None
        await conn.json(200, last)

    async def _requests(self, scope: Scope, conn: Conn, body: bytes) -> None:
        await conn.json(200, [entry.as_json() for entry in self.state.log])


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app(initial: Mapping[str, Any] | None = None) -> FakeUpstreamApp:
    return FakeUpstreamApp(initial)


def create_app_from_env() -> FakeUpstreamApp:
    """App factory for multi-worker uvicorn: startup config comes as JSON in the
    ``FAKEUPSTREAM_CONFIG`` environment variable."""
    raw = os.environ.get(ENV_CONFIG)
    return FakeUpstreamApp(orjson.loads(raw) if raw else None)
