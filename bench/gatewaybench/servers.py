"""The processes under test: Portico (uvicorn or granian), LiteLLM's proxy, and /proc readings.

Every server is a child process in its own session, stopped by its own id. Tools that
Portico does not depend on (granian, py-spy, LiteLLM) are installed on first use under
``var/bench/``, outside the project's virtual environment, and reused afterwards.
"""

from __future__ import annotations

import contextlib
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import orjson

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "bench"
BENCH_VAR = ROOT / "var" / "bench"
PYTHON = sys.executable
SETUP_SCRIPT = Path(__file__).resolve().parent / "setup_portico.py"
TOOLS_VENV = BENCH_VAR / "tools-venv"
GRANIAN_SITE = BENCH_VAR / "granian-site"
LITELLM_VENV = BENCH_VAR / "litellm-venv"
INSTALL_TIMEOUT = 600
# Nothing the benchmark starts may reach beyond loopback; LiteLLM would otherwise fetch
# its model price list from GitHub at start-up.
LITELLM_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}


# --- /proc ---------------------------------------------------------------------------------
def raise_open_files_limit(wanted: int = 65_536) -> int:
    """1,000 streams need ~3,000 descriptors across the processes; children inherit this."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (granian and LiteLLM run their workers as children)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def rss_mib(pid: int) -> float:
    """Resident memory of the process tree (VmRSS from /proc/<pid>/status), in MiB."""
    total_kib = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
    return total_kib / 1024


def thread_count(pid: int) -> int:
    """Threads of the process tree."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("Threads:"):
                    total += int(line.split()[1])
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process tree so far."""
    ticks = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_description() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{mem_gib:.0f} GiB",
        "kernel": os.uname().release,
        "python": sys.version.split()[0],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Child processes -----------------------------------------------------------------------
@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def wait_ready(self, path: str, timeout: float) -> None:
        url = f"http://127.0.0.1:{self.port}{path}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(url, timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.name} did not answer {path} in {timeout:.0f}s:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to the session this server leads (its own workers), then SIGKILL."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def spawn(
    name: str, args: list[str], env: dict[str, str], log_dir: Path, port: int, cwd: Path = ROOT
) -> Server:
    log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(name, process, port, log_path)


def run_json(args: list[str], env: dict[str, str], timeout: float = 300, cwd: Path = ROOT) -> dict:
    """Run a helper to completion and parse the JSON object on its last stdout line."""
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed:\n{done.stderr[-3000:]}")
    return orjson.loads(done.stdout.strip().splitlines()[-1])


# --- Portico ---------------------------------------------------------------------------------
@dataclass
class PorticoSite:
    """A fresh Portico installation: its own var directory, database and API key."""

    label: str
    env: dict[str, str]
    var_dir: Path
    key: str = ""
    cleanup: list[Callable[[], object]] = field(default_factory=list)
    root: Path = ROOT  # the checkout that serves: this one, or a baseline revision's

    @property
    def setup_script(self) -> Path:
        return self.root / SETUP_SCRIPT.relative_to(ROOT)

    @classmethod
    def embedded(cls, root: Path = ROOT, label: str = "SQLite + in-process") -> PorticoSite:
        var_dir = Path(tempfile.mkdtemp(prefix="portico-gateway-bench-"))
        env = base_env(var_dir)
        env.update({"DATABASE_URL": "", "REDIS_URL": ""})
        site = cls(label, env, var_dir, root=root)
        site.cleanup.append(lambda: shutil.rmtree(var_dir, ignore_errors=True))
        return site

    @classmethod
    def external(cls, database_url: str, redis_url: str) -> PorticoSite:
        """On the configured PostgreSQL / Redis, in a database and key prefix of its own."""
        var_dir = Path(tempfile.mkdtemp(prefix="portico-gateway-bench-"))
        env = base_env(var_dir)
        parts = []
        site = cls("", env, var_dir)
        site.cleanup.append(lambda: shutil.rmtree(var_dir, ignore_errors=True))
        if database_url:
            bench_url = fresh_database(database_url)
            env["DATABASE_URL"] = bench_url
            site.cleanup.append(lambda: drop_database(database_url, bench_url))
            parts.append("PostgreSQL")
        else:
            env["DATABASE_URL"] = ""
            parts.append("SQLite")
        if redis_url:
            prefix = f"portico-gateway-bench-{os.getpid()}"
            env.update(
                {"REDIS_URL": redis_url, "REDIS_KEY_PREFIX": prefix, "CACHE_KEY_PREFIX": prefix}
            )
            site.cleanup.append(lambda: forget_redis_prefix(redis_url, prefix))
            parts.append("Redis")
        else:
            env["REDIS_URL"] = ""
        site.label = " + ".join(parts)
        return site

    def prepare(self, fake_base_url: str) -> float:
        """Migrate and seed; returns the seconds the migration took."""
        started = time.perf_counter()
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=self.root,
            env=self.env,
            check=True,
            timeout=300,
        )
        migrated = time.perf_counter() - started
        seeded = run_json(
            [PYTHON, str(self.setup_script), "seed", fake_base_url], self.env, cwd=self.root
        )
        self.key = seeded["key"]
        return migrated

    def drain(self) -> dict[str, float]:
        return run_json(
            [PYTHON, str(self.setup_script), "drain"], self.env, timeout=600, cwd=self.root
        )

    def start_uvicorn(
        self, log_dir: Path, app: str = "portal.asgi:application", name: str = "portico-uvicorn"
    ) -> Server:
        port = free_port()
        env = dict(self.env)
        # bench/ too, for the instrumented application in gatewaybench.counting_asgi.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH_DIR), env.get("PYTHONPATH")]))
        args = [
            *(PYTHON, "-m", "uvicorn", app),
            *("--host", "127.0.0.1", "--port", str(port)),
            *("--loop", "uvloop", "--http", "httptools", "--no-access-log"),
            *("--log-level", "warning", "--workers", "1", "--backlog", "4096"),
        ]
        server = spawn(name, args, env, log_dir, port, cwd=self.root)
        server.wait_ready("/healthz", timeout=60)
        return server

    def start_granian(self, log_dir: Path) -> Server:
        port = free_port()
        env = dict(self.env)
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(GRANIAN_SITE), env.get("PYTHONPATH")])
        )
        args = [
            *(PYTHON, "-m", "granian", "--interface", "asginl"),
            *("--host", "127.0.0.1", "--port", str(port), "--http", "1", "--no-ws"),
            *("--loop", "uvloop", "--workers", "1", "--runtime-threads", "1"),
            *("--backlog", "4096", "--log-level", "warning", "portal.asgi:application"),
        ]
        server = spawn("portico-granian", args, env, log_dir, port)
        server.wait_ready("/healthz", timeout=60)
        return server

    def close(self) -> None:
        for step in reversed(self.cleanup):
            with contextlib.suppress(Exception):
                step()


def base_env(var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PORTICO_VAR_DIR": str(var_dir),
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "0",  # as in production: no query log, no debug pages
            "SECRET_KEY": secrets.token_urlsafe(40),
            "LOG_LEVEL": "WARNING",
            "UPSTREAM_MAX_CONNECTIONS": "2000",  # ≥ the 1,000 concurrent streams
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def fresh_database(database_url: str) -> str:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/") + "_gateway_bench"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path="/" + name))


def drop_database(database_url: str, bench_url: str) -> None:
    import psycopg

    name = urlsplit(bench_url).path.lstrip("/")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def forget_redis_prefix(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    # Django's cache keys are "<prefix>:<version>:<key>", Portico's "<prefix>:<name>":
    # one pattern covers both, and the colon keeps other prefixes out.
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)


# --- Tools installed on first use --------------------------------------------------------------
def _tools_pip() -> Path:
    pip = TOOLS_VENV / "bin" / "pip"
    if not pip.exists():
        BENCH_VAR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [python3(), "-m", "venv", str(TOOLS_VENV)],
            check=True,
            capture_output=True,
            timeout=INSTALL_TIMEOUT,
        )
    return pip


def python3() -> str:
    """A base interpreter for throwaway venvs (not the project's venv, which has no pip)."""
    return shutil.which("python3") or sys.executable


def pip_install(args: list[str]) -> str | None:
    """Install into the tools venv (or a ``--target``); returns None, or why it failed."""
    try:
        done = subprocess.run(
            [str(_tools_pip()), "install", "--quiet", *args],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
        return (errors or done.stderr.splitlines() or ["pip failed"])[-1][:300]
    return None


def ensure_py_spy() -> tuple[Path | None, str]:
    binary = TOOLS_VENV / "bin" / "py-spy"
    if binary.exists():
        return binary, "cached"
    problem = pip_install(["py-spy"])
    return (binary, "installed") if binary.exists() else (None, problem or "no py-spy binary")


def ensure_granian() -> tuple[bool, str]:
    """granian for the project's interpreter, in a folder put on PYTHONPATH (not in .venv)."""
    with contextlib.suppress(ImportError):
        import granian  # noqa: F401  (already in the project's venv)

        return True, "from .venv"
    if (GRANIAN_SITE / "granian").is_dir():
        return True, f"cached in {GRANIAN_SITE.relative_to(ROOT)}"
    # --no-deps: its only dependency, click, is already in the project's venv.
    problem = pip_install(["--target", str(GRANIAN_SITE), "--no-deps", "granian"])
    if problem:
        shutil.rmtree(GRANIAN_SITE, ignore_errors=True)
        return False, problem
    return True, f"installed into {GRANIAN_SITE.relative_to(ROOT)}"


def granian_version() -> str:
    with contextlib.suppress(OSError):
        for entry in GRANIAN_SITE.glob("granian-*.dist-info"):
            return entry.name.removeprefix("granian-").removesuffix(".dist-info")
    return "?"


# --- LiteLLM ----------------------------------------------------------------------------------
def ensure_litellm() -> tuple[Path | None, str]:
    """LiteLLM's proxy in its own venv (installed once, then reused)."""
    binary = LITELLM_VENV / "bin" / "litellm"
    marker = LITELLM_VENV / ".bench-installed"
    if binary.exists() and marker.exists():
        return binary, f"cached in {LITELLM_VENV.relative_to(ROOT)}"
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    try:
        if not (LITELLM_VENV / "bin" / "pip").exists():
            subprocess.run(
                [python3(), "-m", "venv", str(LITELLM_VENV)],
                check=True,
                capture_output=True,
                timeout=INSTALL_TIMEOUT,
            )
        done = subprocess.run(
            [str(LITELLM_VENV / "bin" / "pip"), "install", "--quiet", "litellm[proxy]"],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if done.returncode != 0 or not binary.exists():
        errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
        return None, (errors or ["pip install 'litellm[proxy]' failed"])[-1][:300]
    marker.touch()
    return binary, f"installed into {LITELLM_VENV.relative_to(ROOT)}"


def litellm_version() -> str:
    with contextlib.suppress(OSError):
        for entry in (LITELLM_VENV / "lib").glob("python*/site-packages/litellm-*.dist-info"):
            return entry.name.removeprefix("litellm-").removesuffix(".dist-info")
    return "?"


def start_litellm(binary: Path, fake_base_url: str, log_dir: Path) -> tuple[Server, str]:
    """LiteLLM's proxy with a master key (it refuses to start without one); returns the key."""
    port = free_port()
    master_key = "sk-" + secrets.token_hex(32)
    config = log_dir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: bench-llm\n"
        "    litellm_params:\n"
        "      model: openai/fake-llm\n"
        f"      api_base: {fake_base_url}\n"
        "      api_key: x\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PYTHONPATH")
    }
    env.update(LITELLM_ENV)
    env["LITELLM_MASTER_KEY"] = master_key
    args = [
        str(binary),
        *("--config", str(config), "--host", "127.0.0.1", "--port", str(port)),
        *("--num_workers", "1"),
    ]
    server = spawn("litellm", args, env, log_dir, port)
    try:
        server.wait_ready("/health/liveliness", timeout=180)
    except RuntimeError:
        server.stop()
        raise
    return server, master_key


def system_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy so far (all processes, all CPUs)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def baseline_checkout(revision: str) -> tuple[Path, Callable[[], object]]:
    """A detached worktree of ``revision`` under var/bench, and how to remove it."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", f"{revision}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tree = BENCH_VAR / f"baseline-{commit}"
    if tree.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--force", str(tree), commit],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )

    def remove() -> None:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True
        )

    return tree, remove
