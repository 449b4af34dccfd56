"""Sampling profiles of a running server with py-spy, folded into a short hotspot report.

py-spy samples the live process from outside (``--nonblocking``: it never pauses it),
so the profiled run costs almost nothing and the code under test is unchanged. Idle
samples (the event loop waiting in epoll) are left out by py-spy, so the counts are
CPU time.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]*)(?::(?P<line>\d+))?\)$")

# Where a frame's file lives → the part of the stack it belongs to.
COMPONENTS: tuple[tuple[str, str], ...] = (
    ("gateway/", "Portico: gateway"),
    ("billing/", "Portico: billing"),
    ("portal/", "Portico: portal"),
    ("catalog/", "Portico: catalog"),
    ("accounts/", "Portico: accounts"),
    ("django/core/handlers/", "Django: ASGI handler"),
    ("django/middleware/", "Django: middleware"),
    ("django/contrib/", "Django: contrib middleware"),
    ("django/http/", "Django: request/response"),
    ("django/urls/", "Django: URL resolving"),
    ("django/db/", "Django: ORM and database"),
    ("django/", "Django: other"),
    ("allauth/", "allauth middleware"),
    ("whitenoise/", "whitenoise middleware"),
    ("django_htmx/", "django-htmx middleware"),
    ("ninja/", "django-ninja"),
    ("pydantic", "pydantic"),
    ("asgiref/", "asgiref (sync_to_async, local)"),
    ("uvicorn/", "uvicorn"),
    ("granian/", "granian"),
    ("aiohttp/", "aiohttp client"),
    ("multidict/", "aiohttp client"),
    ("yarl/", "aiohttp client"),
    ("asyncio/", "asyncio"),
    ("uvloop/", "asyncio"),
    ("sqlite3/", "Django: ORM and database"),
    ("logging/", "logging"),
    ("concurrent/", "thread pool"),
    ("threading", "thread pool"),
)
# Frames that every sample shares: they would top every inclusive list and say nothing.
ROOT_FRAMES = {
    "<module>",
    "_run_module_as_main",
    "_run_code",
    "main",
    "run",
    "asyncio_run",
    "Command.__call__",
    "Command.main",
    "Command.invoke",
    "Context.invoke",
    "Server.run",
    "Runner.run",
    "Thread._bootstrap",
    "Thread._bootstrap_inner",
    "Thread.run",
}
# Leaves where a thread is parked, not running: py-spy's idle detection misses these
# futex waits in worker threads, so they are set aside rather than counted as CPU.
WAITING_LEAVES = {
    ("_worker", "concurrent/futures/thread.py"),
    ("Condition.wait", "threading.py"),
    ("Event.wait", "threading.py"),
    ("Thread._wait_for_tstate_lock", "threading.py"),
    ("Thread.join", "threading.py"),
}


@dataclass
class Profile:
    samples: int
    waiting: int
    seconds: float
    rate: int
    self_by_component: list[tuple[str, int]]
    self_by_function: list[tuple[str, int]]
    inclusive_by_function: list[tuple[str, int]]

    def share(self, count: int) -> str:
        return f"{100 * count / self.samples:5.1f}%" if self.samples else "   - "

    def report(self, top: int = 25, components: int | None = None) -> str:
        busy = self.samples / (self.rate * self.seconds) if self.seconds else 0.0
        lines = [
            f"{self.samples} busy samples over {self.seconds:.1f}s at {self.rate} Hz "
            f"(~{busy:.0%} of one core; {self.waiting} samples of parked threads left out)",
            "",
            "Self time by component (where the CPU was when sampled):",
        ]
        shown = self.self_by_component[:components]
        lines += [f"  {self.share(n)}  {name}" for name, n in shown]
        lines += ["", f"Top {top} functions by self time:"]
        lines += [f"  {self.share(n)}  {name}" for name, n in self.self_by_function[:top]]
        lines += ["", f"Top {top} functions by inclusive time (the request path):"]
        lines += [f"  {self.share(n)}  {name}" for name, n in self.inclusive_by_function[:top]]
        return "\n".join(lines)


def component_of(path: str) -> str:
    for prefix, name in COMPONENTS:
        if path.startswith(prefix) or f"/{prefix}" in path:
            return name
    return "other: " + path.split("/")[0]


def parse_frame(frame: str) -> tuple[str, str]:
    match = FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), ""
    return match["func"], match["file"]


def fold(raw: str, seconds: float, rate: int) -> Profile:
    """py-spy's raw (collapsed-stack) output → counts by component and function."""
    by_component: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = waiting = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [parse_frame(f) for f in stack.split(";")]
        func, path = frames[-1]
        if (func, path) in WAITING_LEAVES:
            waiting += count
            continue
        total += count
        by_component[component_of(path)] += count
        self_time[f"{func} ({path})"] += count
        seen = set()
        for func, path in frames:
            if func in ROOT_FRAMES:
                continue
            name = f"{func} ({path})"
            if name not in seen:
                seen.add(name)
                inclusive[name] += count
    return Profile(
        samples=total,
        waiting=waiting,
        seconds=seconds,
        rate=rate,
        self_by_component=by_component.most_common(),
        self_by_function=self_time.most_common(),
        inclusive_by_function=inclusive.most_common(),
    )


def start_recording(
    py_spy: Path, pid: int, seconds: float, output: Path, rate: int = 250
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(py_spy),
            "record",
            *("--pid", str(pid), "--duration", str(max(1, round(seconds)))),
            *("--rate", str(rate), "--format", "raw", "--output", str(output)),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def finish_recording(
    process: subprocess.Popen[bytes], output: Path, seconds: float, rate: int = 250
) -> Profile | str:
    """The folded profile, or why there is none."""
    try:
        _, stderr = process.communicate(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return "py-spy did not finish in time"
    if process.returncode != 0 or not output.exists():
        message = stderr.decode(errors="replace").strip().splitlines()
        return f"py-spy failed: {(message or ['no output'])[-1][:200]}"
    return fold(output.read_text(errors="replace"), max(1, round(seconds)), rate)
