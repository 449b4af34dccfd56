"""Soak test of ``make run``'s embedded default: does it stay up, and does it lose usage?

    .venv/bin/python bench/soak.py [--minutes 30] [--clients 4] [--ocr-every 60]

Runs ``bin/run`` (web server, Celery worker and beat under ``bin/supervise``; SQLite,
the embedded file broker, no Redis) in a temporary ``PORTICO_VAR_DIR`` on a free port,
and loads it for ``--minutes`` with ``--clients`` threads of mixed traffic as the demo
user: chat completions on the built-in ``portico/test-chat`` model (plain and streamed,
with a key from ``manage.py createapikey``; the model paced at 400 tokens/s),
``GET /v1/usage``, and the signed-in Usage, Dashboard and Keys pages; and, when
Tesseract is installed, an OCR upload of a generated one-page PDF every ``--ocr-every``
seconds. ``--kill-worker-every N`` also kills the worker with SIGKILL every N seconds
(bin/run must restart it, and no usage may be lost).

Prints requests by kind and status, crashes (``bin/run`` gone, or a child that exited
on its own; target 0), restarts, the RSS of each process at the start of the load and
at the end, and lost usage events: chat completions answered 200 against usage records
in the database once the worker has drained (target 0). Then sends SIGTERM to
``bin/run`` and reports how long everything took to stop. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")
CHAT_MODEL = "portico/test-chat"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(var_dir: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        env.pop(name, None)  # the embedded default is what is being soaked
    env.update(
        PORTICO_VAR_DIR=str(var_dir),
        SQLITE_PATH=str(var_dir / "portico.sqlite3"),
        PORT=str(port),
        HOST="127.0.0.1",
        PORTICO_SKIP_OS_PACKAGES="1",
        DEFAULT_KEY_RPM="1000000",
        DEMO_CREDIT_USD="10000",
        # The test model's default pace (40 tokens/s) would leave the broker idle.
        LOCAL_MODEL_TOKENS_PER_SECOND="400",
        LOCAL_MODEL_FIRST_TOKEN_MS="20",
        PYTHONUNBUFFERED="1",
    )
    return env


# --- Processes -----------------------------------------------------------------------
def process_stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of a process, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return fields[0], int(fields[2])


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        stat = process_stat(int(entry.name)) if entry.name.isdigit() else None
        if stat and stat[0] != "Z" and stat[1] == pgid:
            members.append(int(entry.name))
    return members


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Run:
    """``bin/run`` as a child process, its output in a log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [str(ROOT / "bin" / "run")],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def current_pid(self, name: str) -> int | None:
        pids = re.findall(rf"started {name} \(pid (\d+)\)", self.text())
        return int(pids[-1]) if pids else None

    def rss(self) -> dict[str, float]:
        """RSS of each process: bin/run (the supervisor), web server, worker, its pool, beat."""
        sizes = {"supervisor": rss_mib(self.proc.pid)}
        for name in PROCESSES:
            pid = self.current_pid(name)
            if pid is None:
                continue
            sizes[name] = rss_mib(pid)
            if name == "worker":
                sizes["worker pool"] = sum(rss_mib(p) for p in group_members(pid) if p != pid)
        return sizes


PROCESSES = ("web server", "worker", "usage worker", "beat")
# Past the first few minutes (imports, caches, pools filling), a process whose RSS still
# climbs faster than this in the second half of the run is reported as growing.
GROWTH_MIB_PER_MIN = 0.25


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares MiB per minute through ``(minute, MiB)`` points (0 for fewer than 2)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if not spread:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def growth_verdicts(series: dict[str, list[tuple[float, float]]]) -> list[str]:
    """Per process: MiB/min over each half of the run, and whether it levels off."""
    lines = []
    for name, points in series.items():
        if len(points) < 4:
            lines.append(f"  {name:12s} too few samples for a verdict")
            continue
        half = points[-1][0] / 2
        first = slope([p for p in points if p[0] <= half])
        second = slope([p for p in points if p[0] >= half])
        verdict = (
            "levels off"
            if second <= GROWTH_MIB_PER_MIN
            else f"STILL GROWING ({second * 60:.0f} MiB/hour)"
        )
        lines.append(
            f"  {name:12s} first half {first:+.2f} MiB/min, second half {second:+.2f} "
            f"MiB/min: {verdict}"
        )
    return lines


# --- Load ----------------------------------------------------------------------------
class Load:
    def __init__(self, base: str, secret: str, session: httpx.Client, ocr_pdf: bytes | None):
        self.base, self.secret, self.session, self.ocr_pdf = base, secret, session, ocr_pdf
        self.counts: Counter[str] = Counter()
        self.chat_ok = 0
        self.errors: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ocr_tokens: list[str] = []

    def count(self, kind: str, status: int | str) -> None:
        with self.lock:
            self.counts[f"{kind} {status}"] += 1
            if kind.startswith("chat") and status == 200:
                self.chat_ok += 1

    def client(self) -> None:
        headers = {"Authorization": f"Bearer {self.secret}"}
        body = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Hello"}]}
        with httpx.Client(base_url=self.base, headers=headers, timeout=60) as api:
            while not self.stop.is_set():
                roll = random.random()
                try:
                    if roll < 0.4:
                        status = api.post("/v1/chat/completions", json=body).status_code
                        self.count("chat", status)
                    elif roll < 0.7:
                        stream = {**body, "stream": True}
                        with api.stream("POST", "/v1/chat/completions", json=stream) as response:
                            text = "".join(response.iter_text())
                        done = response.status_code == 200 and "[DONE]" in text
                        self.count("chat stream", 200 if done else response.status_code)
                    elif roll < 0.8:
                        self.count("GET /v1/usage", api.get("/v1/usage").status_code)
                    else:
                        path = random.choice(["/usage/", "/", "/keys/"])
                        with self.lock:
                            status = self.session.get(self.base + path).status_code
                        self.count(f"GET {path}", status)
                except httpx.HTTPError as exc:
                    self.count("error", type(exc).__name__)

    def ocr(self, every: float) -> None:
        headers = {"Authorization": f"Bearer {self.secret}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=60) as api:
            while True:
                try:
                    files = {"file": ("soak.pdf", self.ocr_pdf, "application/pdf")}
                    response = api.post("/v1/ocr/upload", files=files)
                    self.count("OCR upload", response.status_code)
                    if response.status_code == 200:
                        self.ocr_tokens.append(response.json()["token"])
                except httpx.HTTPError as exc:
                    self.count("error", type(exc).__name__)
                if self.stop.wait(every):
                    return

    def ocr_jobs(self) -> Counter[str]:
        headers = {"Authorization": f"Bearer {self.secret}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=60) as api:
            return Counter(api.get(f"/v1/ocr/jobs/{t}").json()["status"] for t in self.ocr_tokens)


def sign_in(base: str) -> httpx.Client:
    session = httpx.Client(timeout=60, follow_redirects=True)
    session.get(base + "/accounts/login/")
    token = session.cookies["csrftoken"]
    response = session.post(
        base + "/accounts/login/",
        data={"login": "demo@portico.local", "password": "demo-portico"},
        headers={"X-CSRFToken": token, "Referer": base + "/accounts/login/"},
    )
    response.raise_for_status()
    if "sessionid" not in session.cookies:
        raise SystemExit(f"could not sign in as the demo user: {response.status_code}")
    return session


def ocr_pdf() -> bytes | None:
    if not shutil.which("tesseract"):
        return None
    sys.path.insert(0, str(ROOT))
    from tests.ocr import pdfgen

    return pdfgen.image_pdf(pdfgen.text_image(pdfgen.ENGLISH_TEXT, dpi=150), dpi=150)


def usage_records(database: Path) -> int:
    with sqlite3.connect(database, timeout=30) as db:
        (table,) = db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%usagerecord'"
        ).fetchone()
        return db.execute(
            f"SELECT count(*) FROM {table} WHERE model = ?", (CHAT_MODEL,)
        ).fetchone()[0]


# --- The soak ------------------------------------------------------------------------
def soak(args: argparse.Namespace, var_dir: Path) -> int:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = environment(var_dir, port)
    run = Run(env, var_dir / "run.log")
    deadline = time.monotonic() + 300
    while "Portico is running at" not in run.text():
        if run.proc.poll() is not None or time.monotonic() > deadline:
            print(run.text())
            raise SystemExit("bin/run did not start")
        time.sleep(0.5)
    secret = subprocess.run(
        [PY, "manage.py", "createapikey", "--user", "demo@portico.local", "--name", "soak"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    load = Load(base, secret, sign_in(base), ocr_pdf())
    threads = [threading.Thread(target=load.client, daemon=True) for _ in range(args.clients)]
    if load.ocr_pdf is not None:
        threads.append(threading.Thread(target=load.ocr, args=(args.ocr_every,), daemon=True))

    print(
        f"Soak: bin/run (embedded default: SQLite, file broker) on {base}, "
        f"{args.minutes:g} min, {args.clients} clients, OCR "
        f"{f'every {args.ocr_every:g} s' if load.ocr_pdf else 'off (no tesseract)'}, "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )
    started = time.monotonic()
    first_rss = run.rss()
    peak_rss = dict(first_rss)
    series: dict[str, list[tuple[float, float]]] = {n: [(0.0, v)] for n, v in first_rss.items()}
    for thread in threads:
        thread.start()
    end = started + args.minutes * 60
    last_report = last_kill = started
    killed: set[int] = set()
    while time.monotonic() < end and run.proc.poll() is None:
        time.sleep(5)
        if args.kill_worker_every and time.monotonic() - last_kill >= args.kill_worker_every:
            last_kill = time.monotonic()
            if (pid := run.current_pid("worker")) and pid not in killed:
                killed.add(pid)
                os.kill(pid, signal.SIGKILL)
        sizes = run.rss()
        minute = (time.monotonic() - started) / 60
        for name, size in sizes.items():
            peak_rss[name] = max(peak_rss.get(name, 0), size)
            if name in series and len(series[name]) < minute * 2 + 1:  # two samples a minute
                series[name].append((minute, size))
        if time.monotonic() - last_report >= 60:
            last_report = time.monotonic()
            minute = (last_report - started) / 60
            total = sum(load.counts.values())
            rss = ", ".join(f"{name} {size:.0f}" for name, size in sizes.items())
            print(
                f"  {minute:4.1f} min: {total} requests, restarts so far: "
                f"{run.text().count('restarting in')}; RSS MiB: {rss}",
                flush=True,
            )
    load.stop.set()
    for thread in threads:
        thread.join(timeout=70)
    elapsed = time.monotonic() - started
    last_rss = run.rss()
    survived = run.proc.poll() is None

    # Usage events are written before the answer ends; the worker drains them every second.
    records = usage_records(var_dir / "portico.sqlite3")
    drain_deadline = time.monotonic() + 60
    while records < load.chat_ok and time.monotonic() < drain_deadline:
        time.sleep(1)
        records = usage_records(var_dir / "portico.sqlite3")

    ocr_jobs = load.ocr_jobs() if survived else Counter()
    began = time.monotonic()
    pids = [run.proc.pid]
    for name in PROCESSES:
        if (pid := run.current_pid(name)) is not None:
            pids += group_members(pid)
    run.proc.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        run.proc.wait(timeout=30)
    stop_seconds = time.monotonic() - began
    left = [p for p in pids if (stat := process_stat(p)) and stat[0] != "Z"]
    for pid in left:
        os.kill(pid, signal.SIGKILL)

    text = run.text()
    exits = [
        (name, how)
        for name, pid, how in re.findall(
            r"portico: (.+?) \(pid (\d+)\) (was killed by \w+|exited with code -?\d+)", text
        )
        if int(pid) not in killed
    ]
    total = sum(load.counts.values())
    print(f"duration: {elapsed / 60:.1f} min; {total} requests ({total / elapsed:.1f}/s)")
    for kind, n in sorted(load.counts.items()):
        print(f"  {kind}: {n}")
    print(f"crashes: {len(exits) + (0 if survived else 1)} (target 0)")
    print(f"  bin/run {'stayed up' if survived else 'DIED: ' + str(run.proc.returncode)}")
    for name, how in exits:
        print(f"  {name} {how}")
    print(
        f"restarts by bin/run: {text.count('restarting in')} "
        f"({len(killed)} of them after this script killed the worker with SIGKILL)"
    )
    print(
        "log: "
        + ", ".join(
            f"{needle} x{text.count(needle)}"
            for needle in ("Traceback", "JSONDecodeError", "Unrecoverable error", "ERROR")
        )
    )
    print("RSS MiB (start of load -> end, peak):")
    for name in first_rss:
        start, finish = first_rss[name], last_rss.get(name, 0.0)
        print(
            f"  {name:12s} {start:7.1f} -> {finish:7.1f} ({finish - start:+.1f}), "
            f"peak {peak_rss.get(name, 0):.1f}"
        )
    print(
        "RSS growth per process (least squares over each half of the run; with "
        "--kill-worker-every the worker's samples span its restarts):"
    )
    print("\n".join(growth_verdicts(series)))
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    lost = load.chat_ok - records
    print(
        f"usage: {load.chat_ok} chat completions answered 200, {records} usage records "
        f"-> lost events: {lost} (target 0)"
    )
    if load.ocr_tokens:
        print(f"OCR jobs: {dict(ocr_jobs)}")
    print(f"SIGTERM to bin/run: stopped in {stop_seconds:.1f} s; processes left: {len(left)}")
    return 0 if survived and not exits and lost == 0 and not left else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--ocr-every", type=float, default=60, help="seconds between uploads")
    parser.add_argument(
        "--kill-worker-every", type=float, default=0, help="SIGKILL the worker this often (s)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    var_dir = Path(tempfile.mkdtemp(prefix="portico-soak-"))
    try:
        return soak(args, var_dir)
    finally:
        if args.keep:
            print(f"kept {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
