"""A closed-loop HTTP/1.1 load generator on raw asyncio sockets (uvloop), one process.

    python bench/gatewaybench/loadgen.py '{"host": "127.0.0.1", "port": 8000, ...}'

It speaks just enough HTTP/1.1 for the benchmark: keep-alive connections, one request in
flight per connection, bodies framed by Content-Length or chunked transfer encoding. An
``asyncio.Protocol`` parses the bytes as they arrive, so the client costs a few
microseconds per response and is not what limits the figures (httpx costs ~10x more).

Modes (the ``mode`` key of the JSON spec):

* ``closed``: ``concurrency`` connections each send a request as soon as the previous
  answer ended, for ``warmup`` + ``duration`` seconds. Only answers that end inside the
  measured window count.
* ``hold``: ``concurrency`` connections each send one request at once (long streams). The
  line ``{"event": "all_open"}`` is printed once every stream sent its first body byte.

Progress and the result are JSON lines on stdout: ``measure_start``, ``measure_end``,
``all_open``, and last ``result``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

HEAD, LENGTH, CHUNK_SIZE, CHUNK_DATA, TRAILER, DONE = range(6)


@dataclass
class Sample:
    sent: float
    first_byte: float
    done: float
    status: int


@dataclass
class Spec:
    host: str
    port: int
    path: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    mode: str = "closed"
    concurrency: int = 1
    warmup: float = 1.0
    duration: float = 5.0
    timeout: float = 120.0

    def request_bytes(self) -> bytes:
        body = self.body.encode()
        lines = [
            f"POST {self.path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in self.headers.items()),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class ResponseParser:
    """Incremental HTTP/1.1 response framing: knows when the first body byte and the end came."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.reset()

    def reset(self) -> None:
        self.state = HEAD
        self.status = 0
        self.remaining = 0
        self.saw_body = False
        self.keep_alive = True

    def feed(self, data: bytes) -> bool:
        """Add bytes; True once the response is complete (extra bytes stay buffered)."""
        buffer = self.buffer
        buffer += data
        while True:
            if self.state == HEAD:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    return False
                self._parse_head(bytes(buffer[:end]))
                del buffer[: end + 4]
            elif self.state == LENGTH:
                if buffer:
                    self.saw_body = True
                taken = min(len(buffer), self.remaining)
                del buffer[:taken]
                self.remaining -= taken
                if self.remaining:
                    return False
                self.state = DONE
            elif self.state == CHUNK_SIZE:
                end = buffer.find(b"\r\n")
                if end < 0:
                    return False
                size = int(bytes(buffer[:end]).split(b";")[0], 16)
                del buffer[: end + 2]
                if size == 0:
                    self.state = TRAILER
                else:
                    self.remaining, self.state = size + 2, CHUNK_DATA  # data + CRLF
            elif self.state == CHUNK_DATA:
                if not buffer:
                    return False
                self.saw_body = True
                taken = min(len(buffer), self.remaining)
                del buffer[:taken]
                self.remaining -= taken
                if self.remaining:
                    return False
                self.state = CHUNK_SIZE
            elif self.state == TRAILER:
                end = buffer.find(b"\r\n")
                if end < 0:
                    return False
                line = bytes(buffer[:end])
                del buffer[: end + 2]
                if not line:
                    self.state = DONE
            if self.state == DONE:
                return True

    def _parse_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        self.status = int(lines[0].split(b" ", 2)[1])
        chunked, length = False, None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                self.keep_alive = False
        if chunked:
            self.state = CHUNK_SIZE
        elif length is not None:
            self.remaining, self.state = length, LENGTH if length else DONE
        elif self.status in (204, 304):
            self.state = DONE
        else:
            raise ValueError("response without Content-Length or chunked encoding")


class Client(asyncio.Protocol):
    """One keep-alive connection; ``on_done`` decides whether to send the next request."""

    def __init__(self, request: bytes, on_done, on_first_byte=None) -> None:
        self.request = request
        self.on_done = on_done
        self.on_first_byte = on_first_byte
        self.parser = ResponseParser()
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sent = self.first_byte = 0.0
        self.in_flight = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self) -> None:
        self.parser.reset()
        self.in_flight = True
        self.first_byte = 0.0
        self.sent = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        try:
            complete = self.parser.feed(data)
        except ValueError:
            self.transport.close()
            return
        if not self.first_byte and self.parser.saw_body:
            self.first_byte = now
            if self.on_first_byte:
                self.on_first_byte(self)
        if complete:
            self.in_flight = False
            sample = Sample(self.sent, self.first_byte or now, now, self.parser.status)
            if self.on_done(self, sample) and self.parser.keep_alive:
                self.send()
            else:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.in_flight:
            self.in_flight = False
            self.on_done(self, Sample(self.sent, self.sent, time.perf_counter(), 0))
        if not self.closed.done():
            self.closed.set_result(None)


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(orjson.dumps({"event": event, **fields}).decode() + "\n")
    sys.stdout.flush()


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def summarize(samples: list[Sample], seconds: float) -> dict[str, Any]:
    ok = [s for s in samples if s.status == 200]
    latency = sorted((s.done - s.sent) * 1000 for s in ok)
    ttfb = sorted((s.first_byte - s.sent) * 1000 for s in ok)
    statuses = Counter(str(s.status) for s in samples)
    return {
        "requests": len(samples),
        "ok": len(ok),
        "errors": len(samples) - len(ok),
        "statuses": dict(statuses),
        "seconds": seconds,
        "rps": len(ok) / seconds if seconds else 0.0,
        "p50_ms": percentile(latency, 0.50),
        "p90_ms": percentile(latency, 0.90),
        "p99_ms": percentile(latency, 0.99),
        "mean_ms": sum(latency) / len(latency) if latency else None,
        "ttfb_p50_ms": percentile(ttfb, 0.50),
        "ttfb_p99_ms": percentile(ttfb, 0.99),
    }


async def connect(spec: Spec, client: Client) -> None:
    loop = asyncio.get_running_loop()
    await loop.create_connection(lambda: client, spec.host, spec.port)


async def run_closed(spec: Spec) -> dict[str, Any]:
    """Closed loop: each connection sends its next request when the previous one ended."""
    request = spec.request_bytes()
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    measure_from = started + spec.warmup
    measure_to = measure_from + spec.duration
    samples: list[Sample] = []

    def on_done(client: Client, sample: Sample) -> bool:
        if measure_from <= sample.done <= measure_to:
            samples.append(sample)
        return sample.done < measure_to and sample.status != 0

    async def keep_sending(index: int) -> None:
        # A connection the server closed is reopened until the window ends.
        while time.perf_counter() < measure_to:
            client = Client(request, on_done)
            try:
                await connect(spec, client)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            client.send()
            await client.closed

    # Marks for the caller, who reads the server's CPU time at both ends of the window.
    marks = [
        loop.call_at(loop.time() + spec.warmup, emit, "measure_start"),
        loop.call_at(loop.time() + spec.warmup + spec.duration, emit, "measure_end"),
    ]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(
            asyncio.gather(*(keep_sending(i) for i in range(spec.concurrency))),
            timeout=spec.warmup + spec.duration + spec.timeout,
        )
    for mark in marks:
        mark.cancel()
    return summarize(samples, spec.duration)


async def run_hold(spec: Spec) -> dict[str, Any]:
    """Open ``concurrency`` long requests at once; report when all of them are streaming."""
    request = spec.request_bytes()
    started = time.perf_counter()
    samples: list[Sample] = []
    first_bytes: list[float] = []
    settled: set[int] = set()  # clients streaming, or already finished / failed
    all_open = asyncio.get_running_loop().create_future()

    def settle(client: Client) -> None:
        settled.add(id(client))
        if len(settled) >= spec.concurrency and not all_open.done():
            all_open.set_result(None)

    def on_first_byte(client: Client) -> None:
        first_bytes.append(client.first_byte)
        settle(client)

    def on_done(client: Client, sample: Sample) -> bool:
        samples.append(sample)
        settle(client)
        return False

    clients = [Client(request, on_done, on_first_byte) for _ in range(spec.concurrency)]

    async def open_one(client: Client) -> None:
        try:
            await connect(spec, client)
        except OSError:
            samples.append(Sample(time.perf_counter(), 0.0, time.perf_counter(), 0))
            client.closed.set_result(None)
            settle(client)
            return
        client.send()

    await asyncio.gather(*(open_one(c) for c in clients))
    try:
        await asyncio.wait_for(asyncio.shield(all_open), timeout=spec.timeout)
        open_now = sum(1 for c in clients if c.in_flight and c.first_byte)
        emit(
            "all_open",
            streaming=len(first_bytes),
            open_now=open_now,
            seconds=time.perf_counter() - started,
        )
    except TimeoutError:
        emit("all_open", streaming=len(first_bytes), timed_out=True)
    try:
        await asyncio.wait_for(
            asyncio.gather(*(c.closed for c in clients)), timeout=spec.timeout + spec.duration
        )
    except TimeoutError:
        for client in clients:
            if client.transport is not None:
                client.transport.abort()
    result = summarize(samples, time.perf_counter() - started)
    result["open_seconds"] = (max(first_bytes) - started) if first_bytes else None
    result["streaming"] = len(first_bytes)
    return result


def main() -> None:
    spec = Spec(**orjson.loads(sys.argv[1]))
    runner = run_hold if spec.mode == "hold" else run_closed
    try:
        import uvloop
    except ImportError:  # plain asyncio works too, only slower
        emit("result", **asyncio.run(runner(spec)))
        return
    emit("result", **uvloop.run(runner(spec)))


if __name__ == "__main__":
    main()
