"""``python -m fakeupstream``: serve the fake upstream until SIGINT/SIGTERM.

Prints exactly one line, ``LISTENING http://HOST:PORT``, to stdout once it accepts
connections.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from typing import Any

import orjson
import uvicorn
from uvicorn.supervisors import Multiprocess

from fakeupstream.app import ENV_CONFIG, FakeUpstreamApp
from fakeupstream.server import LISTENING_PREFIX, UVICORN_OPTIONS, bind_socket, socket_url
from fakeupstream.state import ConfigError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m fakeupstream", description="Fake OpenAI/Anthropic upstream server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--workers", type=int, default=1, help="processes (state is per process)")
    parser.add_argument("--latency-ms", type=float, help="delay before the first byte")
    parser.add_argument("--token-interval-ms", type=float, help="delay between streamed tokens")
    parser.add_argument("--completion-tokens", type=int, help="tokens per completion")
    parser.add_argument("--embedding-dims", type=int, help="default embedding size")
    parser.add_argument("--models", help="comma-separated model ids for /v1/models")
    parser.add_argument("--config", help="JSON object, as for POST /_control/config")
    return parser.parse_args(argv)


def startup_config(args: argparse.Namespace) -> dict[str, Any]:
    config: dict[str, Any] = orjson.loads(args.config) if args.config else {}
    for key in ("latency_ms", "token_interval_ms", "completion_tokens", "embedding_dims"):
        value = getattr(args, key)
        if value is not None:
            config[key] = value
    if args.models:
        config["models"] = [m.strip() for m in args.models.split(",") if m.strip()]
    return config


class _AnnouncingServer(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and sockets:
            announce(socket_url(sockets[0]))


def announce(url: str) -> None:
    sys.stdout.write(f"{LISTENING_PREFIX}{url}\n")
    sys.stdout.flush()


def serve(config: dict[str, Any], host: str, port: int, workers: int) -> None:
    app = FakeUpstreamApp(config)  # validates the config before binding anything
    sock = bind_socket(host, port)
    if workers <= 1:
        _AnnouncingServer(uvicorn.Config(app, **UVICORN_OPTIONS)).run(sockets=[sock])
        return
    os.environ[ENV_CONFIG] = orjson.dumps(config).decode()
    uv_config = uvicorn.Config(
        "fakeupstream.app:create_app_from_env", factory=True, workers=workers, **UVICORN_OPTIONS
    )
    announce(socket_url(sock))  # already listening: connections queue until a worker accepts
    Multiprocess(uv_config, sockets=[sock]).run()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # uvicorn handles SIGTERM itself, then re-raises it to the previous handler: this one,
    # so that a stopped server exits with status 0 rather than "killed by SIGTERM".
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        config = startup_config(args)
        serve(config, args.host, args.port, args.workers)
    except (ConfigError, orjson.JSONDecodeError) as exc:
        print(f"fakeupstream: bad configuration: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
