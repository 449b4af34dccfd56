"""Quick load loop against the fake upstream (or any OpenAI-compatible base URL).

    python bench/fakeupstream_load.py                      # spawns python -m fakeupstream
    python bench/fakeupstream_load.py --url http://127.0.0.1:8000 --mode stream

``--client httpx`` measures through httpx.AsyncClient (what most Python callers use);
``--client raw`` uses bare asyncio sockets with keep-alive, so the number is closer to the
server's own limit than to the client's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fakeupstream import FakeUpstream

HELLO = [{"role": "user", "content": "hello world"}]
BODIES = {
    "chat": ("/v1/chat/completions", {"model": "fake-llm", "messages": HELLO}),
    "stream": ("/v1/chat/completions", {"model": "fake-llm", "messages": HELLO, "stream": True}),
    "embed": ("/v1/embeddings", {"model": "fake-embed", "input": "hello world"}),
    "messages": ("/v1/messages", {"model": "fake-llm", "messages": HELLO, "max_tokens": 64}),
}

Request = Callable[[], Awaitable[None]]


async def _httpx_worker(url: str, mode: str, deadline: float, counts: list[int]) -> None:
    path, body = BODIES[mode]
    async with httpx.AsyncClient(base_url=url, timeout=30, trust_env=False) as http:
        while time.monotonic() < deadline:
            async with http.stream("POST", path, json=body) as response:
                await response.aread()
                response.raise_for_status()
            counts[0] += 1


async def _raw_worker(url: str, mode: str, deadline: float, counts: list[int]) -> None:
    host, port = url.removeprefix("http://").split(":")
    path, body = BODIES[mode]
    payload = orjson.dumps(body)
    request = (
        f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    reader, writer = await asyncio.open_connection(host, int(port))
    end = b"0\r\n\r\n" if mode == "stream" else None
    while time.monotonic() < deadline:
        writer.write(request)
        await _read_response(reader, end)
        counts[0] += 1
    writer.close()


async def _read_response(reader: asyncio.StreamReader, chunked_end: bytes | None) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    if chunked_end is not None:
        await reader.readuntil(chunked_end)
        return
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":")[1]))
            return


async def run(url: str, mode: str, client: str, concurrency: int, duration: float) -> float:
    worker = _httpx_worker if client == "httpx" else _raw_worker
    counts = [0]
    deadline = time.monotonic() + duration
    started = time.monotonic()
    await asyncio.gather(*(worker(url, mode, deadline, counts) for _ in range(concurrency)))
    return counts[0] / (time.monotonic() - started)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="server root; default: spawn python -m fakeupstream")
    parser.add_argument("--mode", choices=sorted(BODIES), default="chat")
    parser.add_argument("--client", choices=("httpx", "raw"), default="httpx")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    spawned = None if args.url else FakeUpstream.start_process()
    url = args.url or spawned.url  # type: ignore[union-attr]
    try:
        cpu_before = _cpu_seconds(spawned.process.pid) if spawned else 0.0
        rate = asyncio.run(run(url, args.mode, args.client, args.concurrency, args.duration))
        line = f"{args.mode} via {args.client} x{args.concurrency}: {rate:,.0f} req/s"
        if spawned:
            busy = (_cpu_seconds(spawned.process.pid) - cpu_before) / args.duration
            line += f" (server CPU {busy:.0%} of one core)"
        print(line)
    finally:
        if spawned:
            spawned.stop()


if __name__ == "__main__":
    main()
