"""Portico's /v1 gateway under load: against the fake upstream called directly (the ceiling),
LiteLLM's proxy on the same upstream, and granian in place of uvicorn.

    .venv/bin/python bench/gateway_bench.py             # everything, about 5 minutes
    .venv/bin/python bench/gateway_bench.py --quick     # a smoke run, about 2 minutes
    .venv/bin/python bench/gateway_bench.py --skip litellm,granian --duration 10

What runs (all on loopback, all bounded in time):

1. The fake upstream (``python -m fakeupstream``, 16 completion tokens, no delays).
2. A load generator in its own process (``gatewaybench/loadgen.py``: raw asyncio sockets
   on uvloop, keep-alive), closed loop at each concurrency, plain and streamed chat
   completions: first straight at the fake upstream, then through Portico.
3. Portico: a fresh ``PORTICO_VAR_DIR``, ``migrate``, a funded user, an API key with a
   huge RPM, a provider on the fake upstream with an unpriced model (no funds
   reservation) and a priced one (reservation + settlement), ONE uvicorn worker. The
   usage events are drained into the database after each phase (what the Celery beat
   task does; no worker runs), outside the measured windows. With ``DATABASE_URL`` /
   ``REDIS_URL`` in the environment, the same phases run again on PostgreSQL / Redis.
4. py-spy profiles of one plain and one streamed run at c=16 (hotspots to
   ``var/bench/gateway-profile-*.txt``).
5. 1,000 concurrent open streams (1 token/s) through Portico, and its RSS when all are open.
6. What one request costs: thread hops, threads, tasks and SQL counted on an instrumented
   copy of the application (``gatewaybench/counting_asgi.py``), and single operations
   priced in one process (``gatewaybench/micro.py``).
7. granian instead of uvicorn, and LiteLLM's proxy
   (``litellm[proxy]`` in its own venv under ``var/bench/``). Tools are installed on first
   use under ``var/bench/``; a part that cannot run is skipped with a note.

Targets are printed next to the figures, never asserted. The figures land in
``var/bench/gateway-bench.json``; ``docs/performance.md`` discusses them.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

from gatewaybench import profiling, servers  # noqa: E402
from gatewaybench.setup_portico import FREE_MODEL, PRICED_MODEL  # noqa: E402
from gatewaybench.summary import (  # noqa: E402
    DIRECT,
    GRANIAN,
    Cell,
    Report,
    ms,
    print_summary,
    progress_line,
    section,
)

from fakeupstream import FakeUpstream, FakeUpstreamProcess  # noqa: E402

LOADGEN = BENCH_DIR / "gatewaybench" / "loadgen.py"
MICRO = BENCH_DIR / "gatewaybench" / "micro.py"
RESULTS = servers.BENCH_VAR / "gateway-bench.json"
PROMPT = [{"role": "user", "content": "Say hello to the benchmark, in a few words please."}]
COMPLETION_TOKENS = 16
Fake = FakeUpstreamProcess


# --- Load runs -----------------------------------------------------------------------------
@dataclass
class Endpoint:
    """Something to load: where it listens, the model name it knows, whose process it is."""

    name: str
    port: int
    model: str
    pid: int | None = None  # the server's process tree (RSS and CPU)
    upstream_pid: int | None = None  # the fake upstream behind it (its CPU is ours, not "others")
    headers: dict[str, str] = field(default_factory=dict)

    def body(self, stream: bool) -> str:
        payload = {"model": self.model, "messages": PROMPT, "max_tokens": COMPLETION_TOKENS}
        if stream:
            payload["stream"] = True
        return orjson.dumps(payload).decode()


def run_loadgen(
    endpoint: Endpoint,
    spec: dict[str, Any],
    on_event: Callable[[dict[str, Any], subprocess.Popen[bytes]], None] | None = None,
) -> dict[str, Any]:
    """Run the load generator process; ``on_event`` sees its progress lines."""
    spec = {
        "host": "127.0.0.1",
        "port": endpoint.port,
        "path": "/v1/chat/completions",
        "headers": endpoint.headers,
        **spec,
    }
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [sys.executable, str(LOADGEN), orjson.dumps(spec).decode()],
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        result: dict[str, Any] = {}
        assert process.stdout is not None
        for line in process.stdout:
            event = orjson.loads(line)
            if event["event"] == "result":
                result = event
            elif on_event is not None:
                on_event(event, process)
        process.wait(timeout=60)
        if process.returncode != 0 or not result:
            errors.seek(0)
            message = errors.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"load generator failed: {message}")
    return result


def closed_loop(
    endpoint: Endpoint,
    mode: str,
    concurrency: int,
    warmup: float,
    duration: float,
    on_event: Callable[[dict[str, Any], subprocess.Popen[bytes]], None] | None = None,
) -> Cell:
    marks: dict[str, tuple[float, ...]] = {}

    def watch(event: dict[str, Any], process: subprocess.Popen[bytes]) -> None:
        if event["event"] in ("measure_start", "measure_end"):
            marks[event["event"]] = (
                time.perf_counter(),
                servers.cpu_seconds(endpoint.pid) if endpoint.pid else 0.0,
                servers.cpu_seconds(endpoint.upstream_pid) if endpoint.upstream_pid else 0.0,
                servers.cpu_seconds(process.pid),
                servers.system_busy_seconds(),
            )
        if on_event is not None:
            on_event(event, process)

    spec = {
        "mode": "closed",
        "body": endpoint.body(mode == "stream"),
        "concurrency": concurrency,
        "warmup": warmup,
        "duration": duration,
    }
    result = run_loadgen(endpoint, spec, watch)
    cell = Cell(endpoint.name, mode, concurrency)
    for name in ("rps", "p50_ms", "p99_ms", "ttfb_p50_ms", "ttfb_p99_ms", "ok", "errors"):
        setattr(cell, name, result[name])
    cell.statuses = result["statuses"]
    if "measure_start" in marks and "measure_end" in marks:
        start, end = marks["measure_start"], marks["measure_end"]
        seconds = end[0] - start[0]
        server, upstream, client, machine = (end[i] - start[i] for i in range(1, 5))
        cell.server_cpu = server / seconds if endpoint.pid else None
        cell.loadgen_cpu = client / seconds
        cell.other_cpu = max(machine - server - upstream - client, 0.0) / seconds
    if endpoint.pid:
        cell.rss_mib = servers.rss_mib(endpoint.pid)
    return cell


def prime(endpoint: Endpoint, requests: int = 3) -> None:
    """A few sequential requests first, so lazy imports and pools warm up outside the figures."""
    connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=60)
    headers = {"Content-Type": "application/json", **endpoint.headers}
    try:
        for stream in (False, True):
            for _ in range(requests):
                connection.request("POST", "/v1/chat/completions", endpoint.body(stream), headers)
                connection.getresponse().read()
    except (OSError, http.client.HTTPException):
        pass  # the measured runs show the failure
    finally:
        connection.close()


def matrix(
    endpoint: Endpoint, args: argparse.Namespace, concurrencies: Iterable[int] | None = None
) -> list[Cell]:
    prime(endpoint)
    cells = []
    for mode in ("plain", "stream"):
        for concurrency in concurrencies or args.concurrency:
            cell = closed_loop(endpoint, mode, concurrency, args.warmup, args.duration)
            print("  " + progress_line(cell), flush=True)
            cells.append(cell)
    return cells


# --- Phases ------------------------------------------------------------------------------------
def portico_endpoints(
    server: servers.Server, site: servers.PorticoSite, name: str, upstream_pid: int
) -> tuple[Endpoint, Endpoint]:
    auth = {"Authorization": f"Bearer {site.key}"}
    free = Endpoint(name, server.port, FREE_MODEL, server.pid, upstream_pid, auth)
    priced = Endpoint(f"{name} priced", server.port, PRICED_MODEL, server.pid, upstream_pid, auth)
    return free, priced


def drain(site: servers.PorticoSite, report: Report, after: str) -> None:
    result = site.drain()
    result["after"] = after
    report.drains.append(result)
    rate = result["records"] / result["seconds"] if result["seconds"] else 0
    print(
        f"  usage drain after {after}: {result['records']:,.0f} events recorded in "
        f"{result['seconds']:.1f}s ({rate:,.0f}/s)",
        flush=True,
    )


def profile_run(
    endpoint: Endpoint, mode: str, args: argparse.Namespace, py_spy: Path, report: Report
) -> None:
    kind = f"{mode}-priced" if endpoint.name.endswith("priced") else mode
    output = servers.BENCH_VAR / f"gateway-profile-{kind}.raw"
    recording: dict[str, subprocess.Popen[bytes]] = {}

    def on_event(event: dict[str, Any], process: subprocess.Popen[bytes]) -> None:
        if event["event"] == "measure_start":
            recording["p"] = profiling.start_recording(py_spy, endpoint.pid, args.duration, output)

    concurrency = args.profile_concurrency
    cell = closed_loop(endpoint, mode, concurrency, args.warmup, args.duration, on_event)
    print(f"  under py-spy: {progress_line(cell)}", flush=True)
    if "p" not in recording:
        report.note(f"profile ({mode}): the load never reached its measured window")
        return
    profile = profiling.finish_recording(recording["p"], output, args.duration)
    if isinstance(profile, str):
        report.note(f"profile ({mode}) skipped: {profile}")
        return
    text = profile.report()
    path = servers.BENCH_VAR / f"gateway-profile-{kind}.txt"
    path.write_text(
        f"Portico, {mode} chat completions, c={concurrency}, one uvicorn worker\n\n{text}\n"
    )
    report.profiles[mode] = str(path.relative_to(ROOT))
    print(f"  hotspots ({mode}, c={concurrency}), in full in {path.relative_to(ROOT)}:")
    brief = profile.report(top=12, components=8)
    print("\n".join("    " + line for line in brief.splitlines()))


def open_streams(endpoint: Endpoint, fake: Fake, args: argparse.Namespace, report: Report) -> None:
    """Many long streams at once: how much memory does Portico hold per open stream?"""
    fake.configure(token_interval_ms=1000, completion_tokens=args.stream_tokens)
    idle = servers.rss_mib(endpoint.pid)
    idle_threads = servers.thread_count(endpoint.pid)
    peak = [idle]
    stop = threading.Event()

    def sample_rss() -> None:
        while not stop.wait(0.2):
            peak[0] = max(peak[0], servers.rss_mib(endpoint.pid))

    at_open: dict[str, Any] = {}

    def on_event(event: dict[str, Any], process: subprocess.Popen[bytes]) -> None:
        if event["event"] == "all_open":
            at_open.update(event, rss_mib=servers.rss_mib(endpoint.pid))
            at_open["fds"] = len(list(Path(f"/proc/{endpoint.pid}/fd").iterdir()))
            at_open["threads"] = servers.thread_count(endpoint.pid)
            print(
                f"  {event['streaming']:,} streams started after {event.get('seconds', 0):.1f}s, "
                f"{event.get('open_now', 0):,} open at once: "
                f"Portico RSS {at_open['rss_mib']:.0f} MiB, {at_open['threads']:,} threads, "
                f"{at_open['fds']:,} open descriptors",
                flush=True,
            )

    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    try:
        spec = {
            "mode": "hold",
            "body": endpoint.body(stream=True),
            "concurrency": args.streams,
            "duration": args.stream_tokens,
            "timeout": 90,
        }
        result = run_loadgen(endpoint, spec, on_event)
    finally:
        stop.set()
        sampler.join()
        fake.reset()
    report.streams = {
        "streams": args.streams,
        "tokens": args.stream_tokens,
        "idle_rss_mib": idle,
        "open_rss_mib": at_open.get("rss_mib"),
        "peak_rss_mib": peak[0],
        "streaming": at_open.get("streaming", 0),
        "open_now": at_open.get("open_now", 0),
        "open_seconds": at_open.get("seconds"),
        "fds": at_open.get("fds"),
        "threads": at_open.get("threads"),
        "idle_threads": idle_threads,
        "completed_ok": result["ok"],
        "errors": result["errors"],
        "statuses": result["statuses"],
        "ttfb_p50_ms": result["ttfb_p50_ms"],
        "ttfb_p99_ms": result["ttfb_p99_ms"],
        "total_p50_ms": result["p50_ms"],
    }
    print(
        f"  completed {result['ok']:,}/{args.streams:,} (errors {result['errors']}), "
        f"TTFB p50 {ms(result['ttfb_p50_ms'])} ms p99 {ms(result['ttfb_p99_ms'])} ms, "
        f"peak RSS {peak[0]:.0f} MiB (idle before: {idle:.0f} MiB)",
        flush=True,
    )


def count_per_request(site: servers.PorticoSite, fake: Fake, report: Report, requests: int) -> None:
    """Sequential requests to an instrumented Portico: thread hops, threads, tasks, SQL."""
    server = site.start_uvicorn(
        servers.BENCH_VAR, app="gatewaybench.counting_asgi:application", name="portico-counting"
    )
    try:
        free, priced = portico_endpoints(server, site, "portico", fake.process.pid)
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for label, endpoint, stream in (
            ("plain", free, False),
            ("stream", free, True),
            ("priced plain", priced, False),
        ):
            headers = {"Content-Type": "application/json", **endpoint.headers}
            body = endpoint.body(stream)
            for phase in ("warm-up", "counted"):
                connection.request("GET", "/__bench/counts")
                connection.getresponse().read()  # resets the counters
                for _ in range(requests if phase == "counted" else 20):
                    connection.request("POST", "/v1/chat/completions", body, headers)
                    response = connection.getresponse()
                    response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{label}: HTTP {response.status}")
            connection.request("GET", "/__bench/counts")
            counts = orjson.loads(connection.getresponse().read())
            answered = counts.pop("requests", 0) or 1
            report.per_request[label] = {name: n / answered for name, n in counts.items()}
        connection.close()
    finally:
        server.stop()
    drain(site, report, "per-request counting")


class MetricsScraper:
    """``GET /metrics`` every ``interval`` seconds while load runs, as a Prometheus would."""

    def __init__(self, port: int, interval: float) -> None:
        self.port, self.interval = port, interval
        self.stop_event = threading.Event()
        self.seconds: list[float] = []
        self.failures: list[str] = []
        self.size = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                connection.request("GET", "/metrics")
                response = connection.getresponse()
                body = response.read()
                connection.close()
            except (OSError, http.client.HTTPException) as exc:
                self.failures.append(type(exc).__name__)
                continue
            if response.status != 200:
                self.failures.append(f"HTTP {response.status}")
                continue
            self.seconds.append(time.perf_counter() - started)
            self.size = len(body)

    def __enter__(self) -> MetricsScraper:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_event.set()
        self.thread.join()

    def summary(self) -> str:
        if not self.seconds:
            return f"/metrics: no successful scrape ({', '.join(self.failures[:3]) or 'none ran'})"
        ordered = sorted(self.seconds)
        return (
            f"/metrics scraped every {self.interval:g} s during the runs: {len(ordered)} scrapes, "
            f"{len(self.failures)} failed, p50 {ordered[len(ordered) // 2] * 1000:.1f} ms, "
            f"max {ordered[-1] * 1000:.1f} ms, {self.size / 1024:.0f} KiB"
        )


def run_portico(
    site: servers.PorticoSite, fake: Fake, args: argparse.Namespace, report: Report, *, extras: bool
) -> None:
    """The Portico phases on one installation; ``extras`` adds counts, profiles and streams."""
    suffix = "" if extras else f" [{site.label}]"
    migrated = site.prepare(fake.base_url)
    print(f"  {site.label}: migrated in {migrated:.1f}s, seeded; starting uvicorn", flush=True)
    server = site.start_uvicorn(servers.BENCH_VAR)
    try:
        free, priced = portico_endpoints(server, site, "portico" + suffix, fake.process.pid)
        report.idle_rss_mib[free.name] = servers.rss_mib(server.pid)
        print(f"  idle RSS after start: {report.idle_rss_mib[free.name]:.0f} MiB", flush=True)
        scraper = MetricsScraper(server.port, args.scrape_metrics)
        with scraper if args.scrape_metrics else contextlib.nullcontext():
            report.cells += matrix(free, args)
            drain(site, report, f"{free.name} unpriced")
            report.cells += matrix(priced, args)
            drain(site, report, f"{free.name} priced")
        if args.scrape_metrics:
            report.note(scraper.summary() + suffix)
        if not extras:
            return
        if "profile" in args.skip:
            report.note("profiles skipped (--skip profile)")
        else:
            section(f"Profiles of Portico at c={args.profile_concurrency} (py-spy, from outside)")
            py_spy, how = servers.ensure_py_spy()
            if py_spy is None:
                report.note(f"profiles skipped: py-spy not available ({how})")
            else:
                for mode in ("plain", "stream"):
                    profile_run(priced if args.profile_priced else free, mode, args, py_spy, report)
                drain(site, report, "profiles")
        if args.streams:
            section(f"{args.streams:,} concurrent open streams through Portico")
            open_streams(free, fake, args, report)
            drain(site, report, "open streams")
    finally:
        server.stop()
    if extras and "count" not in args.skip:
        section("Per-request accounting (instrumented Portico, sequential requests)")
        count_per_request(site, fake, report, requests=200)
        print("  counted; see the summary", flush=True)
        section("Per-operation costs (one process, operation by operation)")
        report.micro = servers.run_json([sys.executable, str(MICRO)], site.env)
        print("  measured; see the summary", flush=True)


def run_variant(
    name: str,
    server: servers.Server,
    site: servers.PorticoSite,
    fake: Fake,
    args: argparse.Namespace,
    report: Report,
) -> None:
    """Unpriced runs at the lower concurrencies on another way of serving the same Portico."""
    try:
        free, _ = portico_endpoints(server, site, name, fake.process.pid)
        report.idle_rss_mib[free.name] = servers.rss_mib(server.pid)
        report.cells += matrix(free, args, [c for c in args.concurrency if c <= 16])
    finally:
        server.stop()
    drain(site, report, name)


def run_granian(
    site: servers.PorticoSite, fake: Fake, args: argparse.Namespace, report: Report
) -> None:
    available, how = servers.ensure_granian()
    if not available:
        report.note(f"granian: not available ({how})")
        return
    print(f"  granian {servers.granian_version()} ({how}), 1 worker, 1 runtime thread", flush=True)
    run_variant(GRANIAN, site.start_granian(servers.BENCH_VAR), site, fake, args, report)


def run_litellm(fake: Fake, args: argparse.Namespace, report: Report) -> None:
    binary, how = servers.ensure_litellm()
    if binary is None:
        report.note(f"LiteLLM: not available ({how})")
        return
    print(f"  LiteLLM {servers.litellm_version()} ({how}); starting its proxy", flush=True)
    try:
        server, master_key = servers.start_litellm(binary, fake.base_url, servers.BENCH_VAR)
    except RuntimeError as exc:
        last = [line for line in str(exc).splitlines() if line.strip()][-3:]
        report.note(f"LiteLLM: not available (its proxy did not start: {' / '.join(last)})")
        return
    try:
        auth = {"Authorization": f"Bearer {master_key}"}
        endpoint = Endpoint("litellm", server.port, "bench-llm", server.pid, fake.process.pid, auth)
        report.idle_rss_mib[endpoint.name] = servers.rss_mib(server.pid)
        report.cells += matrix(endpoint, args)
    finally:
        server.stop()


# --- Main ------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0, help="measured seconds per cell")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per cell")
    parser.add_argument(
        "--concurrency", default="1,16,64", help="comma-separated closed-loop concurrencies"
    )
    parser.add_argument(
        "--streams", type=int, default=1000, help="concurrent open streams (0: skip)"
    )
    parser.add_argument("--stream-tokens", type=int, default=30, help="tokens per open stream, 1/s")
    parser.add_argument(
        "--skip",
        default="",
        help="phases to skip, comma-separated: litellm, granian, profile, count, external",
    )
    parser.add_argument(
        "--profile-concurrency",
        type=int,
        default=16,
        help="closed-loop concurrency of the py-spy profile runs",
    )
    parser.add_argument(
        "--profile-priced", action="store_true", help="profile the priced model, not the free one"
    )
    parser.add_argument("--quick", action="store_true", help="short cells, 200 streams")
    parser.add_argument(
        "--baseline",
        default="",
        help="also load Portico as it was at this git revision (same venv, SQLite), "
        "right after the current tree, and print both",
    )
    parser.add_argument(
        "--scrape-metrics",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="scrape Portico's /metrics this often during its runs (0: never); "
        "METRICS_ENABLED=0 in the environment runs Portico without metrics",
    )
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.quick:
        args.duration, args.warmup = min(args.duration, 2.0), min(args.warmup, 0.5)
        args.streams, args.stream_tokens = min(args.streams, 200), min(args.stream_tokens, 8)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    servers.BENCH_VAR.mkdir(parents=True, exist_ok=True)
    nofile = servers.raise_open_files_limit()
    machine = servers.machine_description()
    report = Report(
        args={k: sorted(v) if isinstance(v, set) else v for k, v in vars(args).items()},
        machine=machine,
    )
    print(
        f"Machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory']} RAM, "
        f"Linux {machine['kernel']}, Python {machine['python']}; open files limit {nofile:,}"
    )
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    fake = FakeUpstream.start_process(completion_tokens=COMPLETION_TOKENS)
    assert isinstance(fake, FakeUpstreamProcess)
    sites: list[servers.PorticoSite] = []
    try:
        section(f"Fake upstream called directly (the ceiling): {fake.url}, 1 process")
        direct = Endpoint(DIRECT, int(fake.url.rsplit(":", 1)[1]), "fake-llm", fake.process.pid)
        report.cells += matrix(direct, args)

        section(
            "Portico (SQLite, in-process limiter and caches, usage spool segments), 1 uvicorn worker"
        )
        embedded = servers.PorticoSite.embedded()
        sites.append(embedded)
        run_portico(embedded, fake, args, report, extras=True)

        if args.baseline:
            tree, remove = servers.baseline_checkout(args.baseline)
            section(f"Baseline: Portico at {args.baseline} ({tree.name}), same venv, SQLite")
            baseline = servers.PorticoSite.embedded(root=tree, label=f"at {args.baseline}")
            baseline.cleanup.append(remove)
            sites.append(baseline)
            run_portico(baseline, fake, args, report, extras=False)

        if "granian" in args.skip:
            report.note("granian skipped (--skip granian)")
        else:
            section("Portico on granian instead of uvicorn")
            try:
                run_granian(embedded, fake, args, report)
            except Exception as exc:  # an optional comparison never fails the bench
                report.note(f"granian: failed ({type(exc).__name__}: {str(exc)[:300]})")

        if (database_url or redis_url) and "external" not in args.skip:
            external = servers.PorticoSite.external(database_url, redis_url)
            sites.append(external)
            section(
                f"Portico on {external.label} (from DATABASE_URL / REDIS_URL), 1 uvicorn worker"
            )
            run_portico(external, fake, args, report, extras=False)
        elif not (database_url or redis_url):
            report.note(
                "DATABASE_URL / REDIS_URL not set: Portico ran on SQLite and in-process state only"
            )

        if "litellm" in args.skip:
            report.note("LiteLLM skipped (--skip litellm)")
        else:
            section("LiteLLM proxy on the same fake upstream (no database), 1 worker")
            try:
                run_litellm(fake, args, report)
            except Exception as exc:  # an optional comparison never fails the bench
                report.note(f"LiteLLM: not available ({type(exc).__name__}: {str(exc)[:300]})")
    finally:
        fake.stop()
        for site in sites:
            site.close()
    busy = [c.other_cpu for c in report.cells if c.other_cpu is not None]
    if busy and sum(busy) / len(busy) >= 0.1:
        report.note(
            f"other processes kept {sum(busy) / len(busy):.1f} of the {machine['nproc']} CPUs "
            "busy during the measured windows (column 'others'): the absolute figures are lower "
            "than on a quiet machine; ratios between rows and CPU ms/req hold up better"
        )
    print_summary(report, args.duration, args.warmup, COMPLETION_TOKENS)
    payload = asdict(report)
    RESULTS.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2))
    print(
        f"\nFigures: {RESULTS.relative_to(ROOT)}; total time {time.perf_counter() - started:.0f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
