"""Decompression bombs against the OCR upload check and the page worker.

Usage::

    .venv/bin/python bench/ocr_bomb_bench.py [--before] [--shapes content,font,...]

For each bomb shape of ``tests/ocr/bombgen.py`` (1 GiB once decoded, ~1 MB or less on
the wire) and for a legitimate 50-page 300-dpi scan, two fresh child processes run:

* **web**: ``inspect_pdf`` as the upload runs it (``check_text_layer=False``);
* **worker**: what ``process_page`` does before OCR: ``open_pdf``, load the page,
  ``check_page``, ``render_page`` at 300 dpi.

Each prints the PdfError code (or ``ok``), the time to refuse (or accept) and its peak
RSS above its own baseline (``ru_maxrss`` after imports and reading the file). Prints
the limit the refusal named. ``--before`` also runs both with the limits switched off
(the stream scan skipped, the page image limit lifted): what the bombs cost without
them. Children are capped at 6 GB of address space.

``--sandbox MB`` also measures the library-first design of issue 19: pdfium alone (the
hand-written limits switched off, as ``--before``) inside a fresh worker process whose
address space is capped at its size after imports plus ``MB`` (``RLIMIT_AS``) and its CPU
at 10 s (``RLIMIT_CPU``), killed after 30 s of wall time. The parent reads the child's
peak RSS with ``os.wait4`` (so a killed child is measured too, less an import-only
child's peak) and the wall time including the process start, which such a design pays
per document unless it keeps workers warm.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CAP = 6 << 30
SANDBOX_CPU_SECONDS = 10
SANDBOX_WALL_SECONDS = 30


def address_space() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def child(path: str, mode: str, off: bool, budget_mb: int = 0) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))
    from ocr.engine import PdfError, inspect_pdf, limits
    from ocr.engine import pdf as engine_pdf

    if off:
        limits.checked_scan = lambda data, limits_=None: limits.PdfScan()
        limits.configure(limits.PdfLimits(max_page_image_bytes=1 << 60))
    data = Path(path).read_bytes()
    if budget_mb:  # the sandbox: hard limits, the kernel kills on breach
        cap = address_space() + budget_mb * (1 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        resource.setrlimit(resource.RLIMIT_CPU, (SANDBOX_CPU_SECONDS, SANDBOX_CPU_SECONDS))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    code, message = "ok", ""
    try:
        if mode == "none":
            pass
        elif mode == "web":
            inspect_pdf(data, max_pages=500, max_page_pixels=150_000_000, check_text_layer=False)
        else:
            doc = engine_pdf.open_pdf(path)
            page = doc[0]
            engine_pdf.check_page(doc, 0, dpi=300, max_page_pixels=150_000_000, page=page)
            engine_pdf.render_page(page, 300)
    except PdfError as exc:
        code, message = exc.code, exc.message
    except MemoryError:
        code = "MemoryError"
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"code": code, "message": message, "seconds": elapsed,
                      "peak_mb": (peak - base) / 1024}))  # fmt: skip


def run(path: Path, mode: str, off: bool) -> dict:
    args = [sys.executable, __file__, "--child", str(path), mode] + (["--off"] if off else [])
    result = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=600)
    if result.returncode != 0:
        return {"code": f"exit {result.returncode}", "message": "", "seconds": 0, "peak_mb": 0}
    return json.loads(result.stdout.strip().splitlines()[-1])


def sandboxed(path: Path, mode: str, budget_mb: int) -> dict:
    """One run of the library-first design, measured from outside (``os.wait4``)."""
    args = [sys.executable, __file__, "--child", str(path), mode, "--off"]
    args += ["--budget", str(budget_mb)]
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    timer = threading.Timer(SANDBOX_WALL_SECONDS, process.kill)
    timer.start()
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if os.WIFSIGNALED(status):
        code = f"killed {signal.Signals(os.WTERMSIG(status)).name}"
    elif process.returncode:
        code = f"exit {process.returncode}"
    else:
        code = json.loads(out.decode().strip().splitlines()[-1])["code"]
    return {"code": code, "wall": wall, "peak_mb": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", action="store_true", help="also run with no limits")
    parser.add_argument("--shapes", default="", help="comma-separated subset")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--off", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--sandbox",
        type=int,
        default=0,
        metavar="MB",
        help="also run pdfium alone in a worker capped at MB above its imports",
    )
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.off, args.budget)
        return

    from tests.ocr import bombgen

    names = [s for s in args.shapes.split(",") if s] or [*bombgen.SHAPES, "scan_50_pages"]
    header = f"{'shape':<17} {'bytes in':>9}  {'code':<18} {'web s':>6} {'web MB':>7} "
    header += f"{'wkr s':>6} {'wkr MB':>7}"
    if args.before:
        header += f"  {'before: web MB':>14} {'wkr MB':>7}"
    if args.sandbox:
        header += f"  {'sandbox: web':<24} {'s':>5} {'MB':>5}  {'worker':<24} {'s':>5} {'MB':>5}"
    print(header)
    limits_named = {}
    with tempfile.TemporaryDirectory() as folder:
        imports_mb = 0.0
        if args.sandbox:
            empty = Path(folder) / "empty.pdf"
            empty.write_bytes(b"")
            imports_mb = sandboxed(empty, "none", args.sandbox)["peak_mb"]
            print(f"(sandbox: a worker's peak RSS after imports alone: {imports_mb:.0f} MB)")
        for name in names:
            make = bombgen.SHAPES.get(name) or (lambda: bombgen.scan_pdf(50))
            path = Path(folder) / f"{name}.pdf"
            path.write_bytes(make())
            web, worker = run(path, "web", False), run(path, "worker", False)
            line = f"{name:<17} {path.stat().st_size:>9,}  {web['code']:<18} "
            line += f"{web['seconds']:>6.2f} {web['peak_mb']:>7.0f} "
            line += f"{worker['seconds']:>6.2f} {worker['peak_mb']:>7.0f}"
            if args.before:
                web0, worker0 = run(path, "web", True), run(path, "worker", True)
                line += f"  {web0['peak_mb']:>14.0f} {worker0['peak_mb']:>7.0f}"
                for seen in (web0, worker0):
                    if seen["code"] != "ok":
                        line += f" ({seen['code']})"
            if args.sandbox:
                for seen in (
                    sandboxed(path, "web", args.sandbox),
                    sandboxed(path, "worker", args.sandbox),
                ):
                    line += f"  {seen['code']:<24} {seen['wall']:>5.2f} "
                    line += f"{seen['peak_mb'] - imports_mb:>5.0f}"
            print(line, flush=True)
            limits_named[name] = web["message"] or worker["message"]
    print()
    for name, message in limits_named.items():
        print(f"{name:<17} {message or 'accepted'}")


if __name__ == "__main__":
    main()
