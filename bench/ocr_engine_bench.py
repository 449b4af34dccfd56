"""Benchmark the OCR engine on a dense 5-page mixed Arabic + English PDF.

Usage::

    .venv/bin/python bench/ocr_engine_bench.py [--pages 5] [--workers 2]

Prints per-page stage timings (render, orientation, deskew, OCR, PNG encode), CER against
the generated ground truth, and pages/second for:

1. one process, default threading;
2. one process with ``OMP_THREAD_LIMIT=1``;
3. ``--workers`` processes in parallel, each with ``OMP_THREAD_LIMIT=1`` (how Celery
   prefork workers would run), each process handling a share of the pages.

"cpu" is the process CPU time per page: unlike wall-clock times it does not grow when
other programs compete for the cores, so "pages per CPU-second" is the number to compare
across runs on a busy machine. Every mode runs in fresh subprocesses so environment variables take effect before
Tesseract is loaded; the first page of each process pays the model-loading cost, which
is reported separately ("warm-up").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def build_pdf(pages: int) -> tuple[bytes, list[str]]:
    """Dense pages: 12 pt text, English and Arabic paragraphs alternating."""
    from tests.ocr import pdfgen

    paragraphs = [
        pdfgen.DENSE_ENGLISH,
        pdfgen.DENSE_ARABIC,
        pdfgen.ENGLISH_TEXT,
        pdfgen.ARABIC_TEXT,
        pdfgen.MIXED_ENGLISH,
        pdfgen.MIXED_ARABIC,
    ]
    images, truths = [], []
    for index in range(pages):
        shift = index % len(paragraphs)
        page_paragraphs = paragraphs[shift:] + paragraphs[:shift]
        image = pdfgen.text_image(page_paragraphs, font_pt=12, margin_in=0.8)
        if index % 5 == 3:
            image = pdfgen.skew(image, 2.0).resize(image.size)
        elif index % 5 == 4:
            image = pdfgen.degrade(image, seed=index)
        images.append(image)
        truths.append(" ".join(page_paragraphs))
    return pdfgen.image_pdf(images), truths


def worker(pdf_path: str, indexes: list[int]) -> None:
    """Process ``indexes`` of ``pdf_path`` and print one JSON line per page."""
    from ocr.engine import process_page, tesseract

    started = time.perf_counter()
    tesseract.get_api()  # load models outside the per-page numbers
    warmup = time.perf_counter() - started
    print(json.dumps({"warmup": warmup}), flush=True)
    for index in indexes:
        cpu = time.process_time()
        page = process_page(pdf_path, index)
        cpu = time.process_time() - cpu
        row = {"page": page.page_num, "elapsed": page.elapsed, "timings": page.timings}
        row["cpu"] = cpu
        row.update(text=page.text, chars=len(page.text), lines=page.num_segments)
        print(json.dumps(row), flush=True)


def run_mode(pdf_path: str, pages: int, workers: int, env_extra: dict[str, str]) -> dict:
    env = {**os.environ, **env_extra}
    shares = [list(range(pages))[w::workers] for w in range(workers)]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", pdf_path, ",".join(map(str, share))],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for share in shares
    ]
    rows, warmups = [], []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"worker failed with exit code {proc.returncode}")
        for line in out.splitlines():
            data = json.loads(line)
            if "warmup" in data:
                warmups.append(data["warmup"])
            else:
                rows.append(data)
    wall = time.perf_counter() - started
    work = sum(r["elapsed"] for r in rows) / workers  # per-process busy time, no warm-up
    return {
        "rows": sorted(rows, key=lambda r: r["page"]),
        "wall": wall,
        "warmup": max(warmups),
        "pages_per_s": len(rows) / max(work, 1e-9),
        "pages_per_cpu_s": len(rows) / max(sum(r["cpu"] for r in rows), 1e-9),
        "pages_per_s_wall": len(rows) / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], [int(i) for i in args.worker[1].split(",") if i])
        return

    from ocr.engine import cer

    t0 = time.perf_counter()
    data, truths = build_pdf(args.pages)
    pdf_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"ocr_bench_{os.getpid()}.pdf"
    pdf_path.write_bytes(data)
    print(f"generated {args.pages} dense pages in {time.perf_counter() - t0:.1f}s")
    print(f"(cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f})\n")

    modes = [
        ("1 process, default threads", 1, {}),
        ("1 process, OMP_THREAD_LIMIT=1", 1, {"OMP_THREAD_LIMIT": "1"}),
        (f"{args.workers} processes, OMP_THREAD_LIMIT=1", args.workers, {"OMP_THREAD_LIMIT": "1"}),
    ]
    try:
        for title, workers, env in modes:
            res = run_mode(str(pdf_path), args.pages, workers, env)
            print(f"== {title}: model load {res['warmup']:.2f}s")
            header = (
                "page  render  orient  deskew    ocr  encode  total    cpu  lines  chars    CER"
            )
            print(header)
            for row in res["rows"]:
                t = row["timings"]
                error = cer(truths[row["page"] - 1], row["text"]) * 100
                print(
                    f"{row['page']:4d} {t.get('render', 0):7.2f} {t.get('orientation', 0):7.2f}"
                    f" {t.get('deskew', 0):7.2f} {t.get('ocr', 0):6.2f} {t.get('encode', 0):7.2f}"
                    f" {row['elapsed']:6.2f} {row['cpu']:6.2f} {row['lines']:6d} {row['chars']:6d}"
                    f" {error:5.2f}%"
                )
            print(
                f"pages/s per process-busy time: {res['pages_per_s']:.2f}   "
                f"wall clock incl. start-up: {res['pages_per_s_wall']:.2f} pages/s "
                f"({res['wall']:.1f}s); one process per CPU-second: "
                f"{res['pages_per_cpu_s']:.2f} pages/s\n"
            )
    finally:
        pdf_path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
