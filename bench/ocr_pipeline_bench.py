"""End-to-end OCR pipeline benchmark: upload → pages on a real Celery worker → done.

    .venv/bin/python bench/ocr_pipeline_bench.py [--pages 20] [--concurrency 2] [--dpi 300]
    .venv/bin/python bench/ocr_pipeline_bench.py --database-url postgres://… --redis-url redis://…

Starts, in a temporary folder, a fresh database (SQLite unless ``--database-url``), a
Celery worker with ``--concurrency`` processes and Portico's server, uploads a generated
image-only PDF of ``--pages`` A4 pages (English and Arabic paragraphs alternating) through
``POST /v1/ocr/upload`` and polls ``GET /v1/ocr/jobs/{token}`` until it is done.

Prints the wall time from upload to done, pages per second, and the status-poll latency
(p50 / p99) both while the worker is busy and on the finished job. Everything it starts
is stopped, and the temporary folder removed, before it exits.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def configure(var_dir: Path, args: argparse.Namespace) -> dict[str, str]:
    """Environment for this process and its children (set before Django loads)."""
    env = {
        "PORTICO_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "REDIS_KEY_PREFIX": f"portico-bench-{os.getpid()}",
        "CACHE_KEY_PREFIX": f"portico-bench-{os.getpid()}",
        "SQLITE_PATH": str(var_dir / "bench.sqlite3"),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DEFAULT_KEY_RPM": "1000000",
        "OCR_DPI": str(args.dpi),
        "OCR_MAX_UPLOAD_MB": "200",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "1",
    }
    os.environ.update(env)
    return dict(os.environ)


def build_pdf(pages: int) -> bytes:
    from tests.ocr import pdfgen

    texts = [pdfgen.ENGLISH_TEXT, pdfgen.ARABIC_TEXT, pdfgen.DENSE_ENGLISH, pdfgen.DENSE_ARABIC]
    images = [pdfgen.text_image(texts[i % len(texts)], dpi=200) for i in range(pages)]
    return pdfgen.image_pdf(images, dpi=200)


def prepare_database() -> str:
    """Migrate; a user with funds, an ``ocr`` key and the priced OCR model."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from accounts.keys import issue_key
    from accounts.models import User
    from billing.credits import credit
    from billing.wallets import current_organization_id
    from catalog.models import Model

    Model.objects.update_or_create(
        public_id="portico/ocr", defaults={"type": "ocr", "unit_price": Decimal("0.0015")}
    )
    user, _ = User.objects.get_or_create(email=f"bench-{os.getpid()}@example.com")
    credit(
        current_organization_id(user),
        Decimal(100),
        kind="adjustment",
        idempotency_key=f"bench:{user.pk}",
    )
    return issue_key(user, "bench", scopes=["ocr"]).secret


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def latency_line(name: str, samples: list[float]) -> str:
    if not samples:
        return f"  {name}: no samples"
    return (
        f"  {name}: n={len(samples)}  p50={percentile(samples, 0.5) * 1000:.1f} ms  "
        f"p99={percentile(samples, 0.99) * 1000:.1f} ms  mean={statistics.mean(samples) * 1000:.1f} ms"
    )


def run(args: argparse.Namespace) -> int:
    import httpx

    from tests.support.processes import CeleryWorker, PorticoServer, wait_for

    pdf = build_pdf(args.pages)
    secret = prepare_database()
    env = dict(os.environ)
    worker = CeleryWorker(env, concurrency=args.concurrency)
    server = PorticoServer(env)
    try:
        worker.wait_ready(timeout=120)
        server.wait_ready(timeout=60)
        headers = {"Authorization": f"Bearer {secret}"}
        with httpx.Client(base_url=server.url + "/v1", headers=headers, timeout=60) as http:
            started = time.perf_counter()
            response = http.post(
                "/ocr/upload", files={"file": ("bench.pdf", pdf, "application/pdf")}
            )
            response.raise_for_status()
            uploaded = time.perf_counter()
            token = response.json()["token"]
            busy: list[float] = []

            def finished() -> dict | None:
                t0 = time.perf_counter()
                body = http.get(f"/ocr/jobs/{token}").json()
                busy.append(time.perf_counter() - t0)
                return body if body["status"] in ("done", "error") else None

            job = wait_for(finished, timeout=args.timeout, interval=0.1, what="the OCR job")
            done = time.perf_counter()
            idle: list[float] = []
            for _ in range(args.polls):
                t0 = time.perf_counter()
                http.get(f"/ocr/jobs/{token}").raise_for_status()
                idle.append(time.perf_counter() - t0)
    finally:
        server.stop()
        worker.stop()

    elapsed = done - started
    page_times = [page["elapsed"] for page in job["pages"]]
    print(
        f"OCR pipeline: {args.pages} A4 pages (image-only, 200 dpi scans), OCR at {args.dpi} dpi, "
        f"{args.concurrency} worker processes, {os.cpu_count()} CPUs"
    )
    print(f"  status: {job['status']} ({len(job['pages'])} pages read) {job['error'] or ''}")
    print(
        f"  PDF size: {len(pdf) / 1024 / 1024:.2f} MB; upload answered in {uploaded - started:.2f} s"
    )
    print(f"  upload → done: {elapsed:.2f} s  →  {args.pages / elapsed:.2f} pages/s")
    if page_times:
        print(
            f"  engine time per page: mean {statistics.mean(page_times):.2f} s, "
            f"max {max(page_times):.2f} s (sum {sum(page_times):.1f} s of work)"
        )
    print("status-poll latency, GET /v1/ocr/jobs/{token}:")
    print(latency_line("while processing", busy))
    print(latency_line(f"finished job ({args.pages} pages of text)", idle))
    return 0 if job["status"] == "done" else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--dpi", type=int, default=300)
    parser.add_argument("--polls", type=int, default=300, help="polls of the finished job")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the job")
    parser.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    parser.add_argument("--redis-url", default="", help="default: the file-system broker")
    args = parser.parse_args()
    var_dir = Path(tempfile.mkdtemp(prefix="portico-ocr-bench-"))
    try:
        configure(var_dir, args)
        return run(args)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
