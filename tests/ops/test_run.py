"""``bin/run`` keeps Portico up: a killed worker comes back, the web server keeps serving,
and SIGTERM stops every process it started within 10 seconds. Its embedded default
(DEBUG on) answers a stale link with Portico's page and logs mail on a line of its own."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from tests.support.processes import ROOT, ChildProcess, child_env, free_port, wait_for

pytestmark = pytest.mark.slow


def group_members(pgid: int) -> set[int]:
    """Every live process in a process group (read from /proc)."""
    members = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The fields after the command name (which may hold spaces): state ppid pgrp …
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                members.add(int(entry.name))
    return members


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


PROCESSES = ("web server", "worker", "usage worker", "beat")


def ready_lines(run: ChildProcess) -> int:
    """How many times a Celery worker said it was ready (the worker and the usage worker)."""
    return sum(" ready." in line for line in list(run.lines))


def started(run: ChildProcess, name: str) -> list[int]:
    return [
        int(m[1])
        for line in list(run.lines)
        if (m := re.search(rf"started {name} \(pid (\d+)\)", line))
    ]


class HealthWatch(threading.Thread):
    """Asks /healthz every 50 ms and counts the answers that were not 200."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.ok, self.failed, self.done = url, 0, [], threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=2) as client:
            while not self.done.is_set():
                try:
                    status = client.get(self.url).status_code
                except httpx.HTTPError as exc:
                    status = repr(exc)
                if status == 200:
                    self.ok += 1
                else:
                    self.failed.append(status)
                time.sleep(0.05)


@pytest.fixture(scope="module")
def portico_run(django_db_blocker, tmp_path_factory):
    """``bin/run`` in a var folder and on a port of its own (static files reused)."""
    var = tmp_path_factory.mktemp("run-var")
    # Collected once for the suite; bin/run skips collecting when nothing is newer.
    (var / "staticfiles").symlink_to(settings.STATIC_ROOT)
    (Path(settings.STATIC_ROOT) / ".collected").touch()
    port = free_port()
    env = child_env(
        PORTICO_VAR_DIR=str(var),
        SQLITE_PATH=str(var / "portico.sqlite3"),
        DATABASE_URL="",
        REDIS_URL="",
        CELERY_BROKER_URL="",
        CELERY_RESULT_BACKEND="",
        PORT=str(port),
        PORTICO_SKIP_OS_PACKAGES="1",
        # bin/run migrates a new database: the old migrations bind decimals, as their
        # releases did (as in `make run`, the tripwire is the test processes' own).
        SQLITE_REFUSE_DECIMAL_PARAMS="0",
    )
    run = ChildProcess([str(ROOT / "bin" / "run")], env, "bin/run")
    run.url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: run.saw("Portico is running at"), timeout=180, what="bin/run to start")
        wait_for(lambda: ready_lines(run) == 2, timeout=60, what="both workers")
        yield run
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{run.output()}") from None
    finally:
        run.stop()
        for pid in [pid for name in PROCESSES for pid in started(run, name)]:
            for member in group_members(pid):
                os.kill(member, signal.SIGKILL)


def test_a_worker_killed_with_sigkill_is_restarted_while_the_web_server_serves(portico_run):
    (worker,) = started(portico_run, "worker")
    pool = group_members(worker) - {worker}
    watch = HealthWatch(portico_run.url + "/healthz")
    watch.start()
    try:
        os.kill(worker, signal.SIGKILL)
        wait_for(
            lambda: len(started(portico_run, "worker")) == 2,
            timeout=30,
            what="the worker to be restarted",
        )
        wait_for(
            lambda: ready_lines(portico_run) == 3,
            timeout=90,
            what="the new worker to be ready",
        )
    finally:
        watch.done.set()
        watch.join()
    assert portico_run.saw(f"worker (pid {worker}) was killed by SIGKILL")
    assert watch.ok > 0 and watch.failed == []
    # The killed worker's pool children went with it.
    assert not any(group_members(worker) & pool)
    # Periodic tasks ran all along, but their lines are DEBUG: the console stays readable.
    assert not portico_run.saw("Sending due task")
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert not portico_run.saw(f"{entry['task']}["), portico_run.output()


def test_a_stale_link_gets_portico_s_404_page_not_django_s_debug_page(portico_run):
    response = httpx.get(portico_run.url + "/retrieval/col_deleted_long_ago/nothing/")

    assert response.status_code == 404
    assert "Page not found" in response.text and "Go to the dashboard" in response.text
    assert "URLconf" not in response.text and "urlpatterns" not in response.text
    api = httpx.get(portico_run.url + "/v1/no-such-route")
    assert api.status_code == 404 and api.json()["error"]["type"] == "not_found_error"


def test_a_sign_up_mail_is_logged_on_a_line_that_starts_with_the_envelope(portico_run):
    with httpx.Client(base_url=portico_run.url) as browser:
        form = browser.get("/accounts/signup/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        browser.post(
            "/accounts/signup/",
            data={
                "csrfmiddlewaretoken": token,
                "email": "newbie@example.com",
                "password1": "correct horse battery staple",
                "password2": "correct horse battery staple",
            },
        )

    def mail_line() -> str | None:
        return next(
            (line for line in list(portico_run.lines) if "newbie@example.com" in line), None
        )

    line = wait_for(mail_line, timeout=30, what="the worker to log the confirmation mail")
    assert re.fullmatch(r"✉ \[Portico\] .+ — to newbie@example\.com: http://\S+/", line), line


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_the_web_server_runs_with_one_blas_thread_and_the_workers_with_the_default(portico_run):
    """Dense queries' cosines in the web server: one OpenBLAS thread (docs/retrieval.md);
    the workers embedding whole documents keep what the machine gives them."""
    (web,) = started(portico_run, "web server")
    (worker,) = started(portico_run, "worker")[-1:]
    assert environ_of(web).get("OPENBLAS_NUM_THREADS") == "1"
    assert environ_of(worker).get("OPENBLAS_NUM_THREADS") == os.environ.get("OPENBLAS_NUM_THREADS")


def test_sigterm_stops_every_process_within_ten_seconds(portico_run):
    pids = {portico_run.proc.pid}
    for name in PROCESSES:
        pids |= group_members(started(portico_run, name)[-1])
    assert (
        len(pids) >= 6
    )  # bin/run, the web server, the worker and its pool, the usage worker, beat

    began = time.monotonic()
    portico_run.proc.send_signal(signal.SIGTERM)
    portico_run.proc.wait(timeout=10)
    wait_for(
        lambda: not any(alive(pid) for pid in pids),
        timeout=max(0.1, 10 - (time.monotonic() - began)),
        what=f"every process to stop ({[pid for pid in pids if alive(pid)]} left)",
    )
    assert portico_run.proc.returncode == 0
