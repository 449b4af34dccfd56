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
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CAP = 6 << 30


def child(path: str, mode: str, off: bool) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))
    from ocr.engine import PdfError, inspect_pdf, limits
    from ocr.engine import pdf as engine_pdf

    if off:
        limits.checked_scan = lambda data, limits_=None: limits.PdfScan()
        limits.configure(limits.PdfLimits(max_page_image_bytes=1 << 60))
    data = Path(path).read_bytes()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    code, message = "ok", ""
    try:
        if mode == "web":
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", action="store_true", help="also run with no limits")
    parser.add_argument("--shapes", default="", help="comma-separated subset")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--off", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.off)
        return

    from tests.ocr import bombgen

    names = [s for s in args.shapes.split(",") if s] or [*bombgen.SHAPES, "scan_50_pages"]
    header = f"{'shape':<17} {'bytes in':>9}  {'code':<18} {'web s':>6} {'web MB':>7} "
    header += f"{'wkr s':>6} {'wkr MB':>7}"
    if args.before:
        header += f"  {'before: web MB':>14} {'wkr MB':>7}"
    print(header)
    limits_named = {}
    with tempfile.TemporaryDirectory() as folder:
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
            print(line, flush=True)
            limits_named[name] = web["message"] or worker["message"]
    print()
    for name, message in limits_named.items():
        print(f"{name:<17} {message or 'accepted'}")


if __name__ == "__main__":
    main()
