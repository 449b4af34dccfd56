"""OCR quality on realistic scans: Portico's engine against plain Tesseract.

Usage::

    .venv/bin/python bench/ocr_quality_bench.py [--quick] [--pages N] [--kinds a,b]
        [--json out.json] [--baseline DIR]

A seeded generator (``tests/ocr/scangen.py``) renders page kinds from real fonts (Noto
Sans, Noto Naskh Arabic, Amiri) as *image-only* PDF pages: clean pages, skewed pages,
two columns with a header and a page number, ruled tables, mixed Arabic/English lines,
noisy scans, faxes, phone photos, photocopies, coloured paper, stamps, small print
scanned at 150 dpi, pages turned by 90/180 degrees. Each page is read by

* **portico**: ``ocr.engine.process_page`` (text layer off, so every page is OCR'd);
* **tesseract**: the same page rendered at the same dpi and given to Tesseract
  (``ara+eng``, automatic page segmentation, the same tesserocr library) with no
  preprocessing at all, i.e. ``tesseract page.png - -l ara+eng``.

and scored by character error rate against the text in reading order (whitespace
folded, see ``ocr.engine.metrics.cer``), and by **number accuracy**: the share of the
page's numbers (digits of any system with their inner separators, ``1,250.00``
``٤٧/٢٠٢٥`` ``۱۴۰۳/۰۶/۱۵``, as whole tokens) read exactly and in reading order (the
longest common subsequence of the truth's and the reading's number tokens, over the
truth's count). The ``num_*`` kinds are number-heavy business pages
(``tests/ocr/docgen.py``, laid out by Chromium: invoices with tables of amounts,
circulars with references and dates, a bilingual form, a Persian form), clean and
scanned, in Noto Naskh Arabic, Amiri and Noto Sans Arabic (the digit model never saw
the last), at 10 to 13 pt.

``--baseline DIR`` also reads every page with the engine of another checkout (say
``git archive main | tar -x -C DIR``) in a subprocess, in the same run. Table pages also get a word-overlap error
(``1 - |ref & hyp| / max(|ref|, |hyp|)`` over word multisets), which ignores order.
"cpu" is Portico's CPU seconds per page (Tesseract is single-threaded here, so this is
time on one core); "dense pages/s per core" is ``1 / cpu`` over the dense kinds.

No assertions: the bench prints a table. ``--quick`` reads one page per kind
(~2 minutes); the default reads ``--pages 2`` per kind (~5 minutes on a quiet core).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from tests.ocr import docgen, pdfgen, scangen  # noqa: E402

DPI = 300
BROWSER: list = []  # the Chromium that lays out the num_* pages (started on demand)


@dataclass(slots=True)
class Page:
    image: Image.Image
    truth: str
    dpi: int = DPI


def _flow(rng: random.Random, arabic: bool, **kw) -> tuple[Image.Image, str]:
    return scangen.flow_page(scangen.paragraphs(rng, arabic, 3, 4), **kw)


def _skewed(arabic: bool, angle: float) -> Callable[[random.Random], Page]:
    def make(rng: random.Random) -> Page:
        img, truth = _flow(rng, arabic)
        return Page(pdfgen.skew(img, angle), truth)

    return make


def _turned(arabic: bool, degrees: int) -> Callable[[random.Random], Page]:
    def make(rng: random.Random) -> Page:
        img, truth = _flow(rng, arabic)
        return Page(pdfgen.rotate_quarter(img, degrees), truth)

    return make


def _defect(arabic: bool, defect: Callable[..., Image.Image]) -> Callable[[random.Random], Page]:
    def make(rng: random.Random) -> Page:
        img, truth = _flow(rng, arabic)
        return Page(defect(img, seed=rng.randrange(1000)), truth)

    return make


def _fax(rng: random.Random) -> Page:
    img, truth = _flow(rng, False)
    image, dpi = scangen.fax(img, seed=rng.randrange(1000))
    return Page(image, truth, dpi)


def _small_print(rng: random.Random) -> Page:
    """7 pt Arabic scanned at 150 dpi: characters ~19 px tall once rendered at 300 dpi."""
    img, truth = scangen.flow_page(scangen.paragraphs(rng, True, 2, 3), font_pt=7)
    return Page(img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS), truth, 150)


def _mixed(rng: random.Random) -> Page:
    arabic, english = scangen.paragraphs(rng, True, 2, 2), scangen.paragraphs(rng, False, 1, 2)
    lines = rng.sample(scangen.MIXED_LINES, 3)
    texts = [arabic[0], lines[0], english[0], lines[1], arabic[1], lines[2]]
    img, truth = scangen.flow_page(texts)
    return Page(img, truth)


def _dense(rng: random.Random) -> Page:
    english, arabic = scangen.paragraphs(rng, False, 2, 5), scangen.paragraphs(rng, True, 2, 5)
    texts = [english[0], arabic[0], english[1], arabic[1]]
    img, truth = scangen.flow_page(texts, font_pt=11, margin_in=0.7)
    return Page(img, truth)


def _noisy_amiri(rng: random.Random) -> Page:
    img, truth = _flow(rng, True, arabic_font="Amiri-Regular.ttf", font_pt=14)
    return Page(scangen.speckle(img, seed=rng.randrange(1000)), truth)


def _dusty(rng: random.Random) -> Page:
    """Twice the noisy scan's dust."""
    img, truth = _flow(rng, True)
    return Page(scangen.speckle(img, seed=rng.randrange(1000), density=8e-4), truth)


def _noisy_mixed(rng: random.Random) -> Page:
    page = _mixed(rng)
    return Page(scangen.speckle(page.image, seed=rng.randrange(1000)), page.truth)


def _tinted(rng: random.Random) -> Page:
    img, truth = _flow(rng, True)
    return Page(scangen.tinted(img), truth)


def _doc(make_doc, defect=None, *, fax: bool = False) -> Callable[[random.Random], Page]:
    """A number-heavy page laid out by Chromium, optionally scanned with ``defect``."""

    def make(rng: random.Random) -> Page:
        if not BROWSER:
            BROWSER.append(_launch())
        image, truth = docgen.render(BROWSER[0], make_doc(rng))
        if fax:
            image, dpi = scangen.fax(image, seed=rng.randrange(1000))
            return Page(image, truth, dpi)
        if defect is not None:
            image = defect(image, seed=rng.randrange(1000))
        return Page(image, truth)

    return make


def _launch():
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    return playwright.chromium.launch(executable_path=docgen.CHROMIUM, args=docgen.CHROMIUM_ARGS)


NUMBER_KINDS: dict[str, tuple[Callable[[random.Random], Page], bool, bool]] = {
    "num_invoice_ara": (_doc(lambda r: docgen.invoice(r, "arabic", "naskh")), False, False),
    "num_invoice_lat": (_doc(lambda r: docgen.invoice(r, "western", "amiri")), False, False),
    "num_circular": (_doc(lambda r: docgen.circular(r, "arabic", "amiri")), False, False),
    "num_circular_10pt": (
        _doc(lambda r: docgen.circular(r, "arabic", "naskh", size_pt=10)),
        False,
        False,
    ),
    "num_form": (_doc(docgen.bilingual_form), False, False),
    "num_persian": (_doc(docgen.persian_form), False, False),
    "num_invoice_scan": (
        _doc(lambda r: docgen.invoice(r, "arabic", "naskh"), scangen.speckle),
        False,
        False,
    ),
    "num_circular_scan": (
        _doc(lambda r: docgen.circular(r, "arabic", "amiri"), scangen.photocopy),
        False,
        False,
    ),
    "num_form_fax": (_doc(docgen.bilingual_form, fax=True), False, False),
    "num_persian_scan": (_doc(docgen.persian_form, scangen.speckle), False, False),
    # Arabic lines with English names and Western numbers inside, English lines with
    # Arabic words (the layout work had made such pages worse).
    "mixed_numbers": (_doc(docgen.mixed_page), False, False),
    "mixed_numbers_amiri": (_doc(lambda r: docgen.mixed_page(r, "amiri")), False, False),
    "mixed_numbers_scan": (_doc(docgen.mixed_page, scangen.speckle), False, False),
}

# name -> (maker, dense, table)
KINDS: dict[str, tuple[Callable[[random.Random], Page], bool, bool]] = {
    "eng_clean": (lambda r: Page(*_flow(r, False)), True, False),
    "ara_clean": (lambda r: Page(*_flow(r, True)), True, False),
    "dense_mixed": (_dense, True, False),
    "mixed_lines": (_mixed, False, False),
    "ara_amiri": (
        lambda r: Page(*_flow(r, True, arabic_font="Amiri-Regular.ttf", font_pt=14)),
        False,
        False,
    ),
    "eng_skew_+5": (_skewed(False, 5.0), False, False),
    "ara_skew_-4": (_skewed(True, -4.0), False, False),
    "eng_two_col": (lambda r: Page(*scangen.columns_page(r, arabic=False)), True, False),
    "ara_two_col": (lambda r: Page(*scangen.columns_page(r, arabic=True)), True, False),
    "eng_table": (lambda r: Page(*scangen.table_page(r, arabic=False)), False, True),
    "ara_table": (lambda r: Page(*scangen.table_page(r, arabic=True)), False, True),
    "ara_noisy": (_defect(True, scangen.speckle), False, False),
    "eng_fax": (_fax, False, False),
    "ara_photo": (_defect(True, scangen.phone_photo), False, False),
    "eng_photocopy": (_defect(False, scangen.photocopy), False, False),
    "ara_tinted": (_tinted, False, False),
    "ara_small_print": (_small_print, False, False),
    "eng_stamp": (_defect(False, scangen.stamp), False, False),
    "eng_turned_90": (_turned(False, 90), False, False),
    "ara_turned_180": (_turned(True, 180), False, False),
    # Variants of the noisy scan, so its clean-up is not tuned to one kind of page.
    "eng_noisy": (_defect(False, scangen.speckle), False, False),
    "amiri_noisy": (_noisy_amiri, False, False),
    "ara_dusty": (_dusty, False, False),
    "mixed_noisy": (_noisy_mixed, False, False),
    **NUMBER_KINDS,
}


def _lcs(a: list[str], b: list[str]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        prev = 0
        for j, y in enumerate(b, start=1):
            prev, row[j] = row[j], prev + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


def number_accuracy(reference: str, hypothesis: str) -> float | None:
    """Share of the reference's number tokens read exactly, in order (None: no numbers)."""
    expected = docgen.numbers(reference)
    if not expected:
        return None
    return _lcs(expected, docgen.numbers(hypothesis)) / len(expected)


SCANNED_NUMBER_KINDS = frozenset(
    {
        "num_invoice_scan",
        "num_circular_scan",
        "num_form_fax",
        "num_persian_scan",
        "mixed_numbers_scan",
    }
)
CLEAN_NUMBER_KINDS = frozenset(NUMBER_KINDS) - SCANNED_NUMBER_KINDS


def word_overlap_error(reference: str, hypothesis: str) -> float:
    """``1 - |ref & hyp| / max(|ref|, |hyp|)`` over word multisets (order ignored)."""
    from ocr.engine.metrics import normalize_for_cer

    ref = Counter(normalize_for_cer(reference).split())
    hyp = Counter(normalize_for_cer(hypothesis).split())
    if not ref:
        return 0.0
    common = sum((ref & hyp).values())
    return 1.0 - common / max(sum(ref.values()), sum(hyp.values()))


class PlainTesseract:
    """Tesseract with no preprocessing: the rendered page straight to ``ara+eng``."""

    def __init__(self) -> None:
        from tesserocr import PSM, PyTessBaseAPI

        from ocr.engine.tesseract import tessdata_dir

        self.api = PyTessBaseAPI(path=tessdata_dir(), lang="ara+eng", psm=PSM.AUTO)

    def read(self, pdf: bytes, dpi: int = DPI) -> str:
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(pdf)
        try:
            page = doc[0]
            image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            page.close()
        finally:
            doc.close()
        self.api.SetVariable("user_defined_dpi", str(dpi))
        self.api.SetImage(image)
        return self.api.GetUTF8Text()


class GarbageSweep:
    """Records each page's recognised lines before garbage control, to score thresholds.

    ``--sweep-garbage`` prints the mean CER per kind for each threshold in
    :data:`SWEEP`: how :data:`ocr.engine.tesseract.GARBAGE_CONF` was chosen.
    """

    SWEEP = (0, 50, 70, 80, 85, 90, 95)

    def __init__(self) -> None:
        from ocr.engine import tesseract

        self.tesseract = tesseract
        self.original = tesseract.drop_garbage
        self.calls: list[list] = []
        tesseract.drop_garbage = self._record

    def _record(self, lines, threshold=None):
        self.calls.append(lines)
        return self.original(lines, threshold)

    def texts(self, final_text: str) -> dict[int, str]:
        """Page text at every threshold, from the reading that produced ``final_text``."""
        from ocr.engine import layout

        def text_at(lines, threshold):
            blocks = layout.order_blocks(self.original(lines, threshold))
            return self.tesseract.build_segments(blocks)[0]

        chosen = next(
            (c for c in self.calls if text_at(c, None) == final_text),
            self.calls[-1] if self.calls else [],
        )
        self.calls = []
        return {t: text_at(chosen, t) for t in self.SWEEP}


BASELINE_SCRIPT = """
import json, sys, time
from ocr.engine import process_page, tesseract
tesseract.get_api()
out = []
for path in sys.argv[1:]:
    cpu = time.process_time()
    text = process_page(path, 0, use_text_layer=False).text
    out.append({"text": text, "cpu": time.process_time() - cpu})
print(json.dumps(out))
"""


def read_baseline(source: Path, pdfs: list[bytes]) -> list[dict]:
    """Every page read by the engine of the checkout at ``source``, in a subprocess."""
    import os
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, pdf in enumerate(pdfs):
            path = Path(folder) / f"page{index:04d}.pdf"
            path.write_bytes(pdf)
            paths.append(str(path))
        env = {**os.environ, "PYTHONPATH": str(source)}
        done = subprocess.run(
            [sys.executable, "-c", BASELINE_SCRIPT, *paths],
            cwd=source,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(
    kinds: list[str],
    pages: int,
    seed: int,
    sweep: GarbageSweep | None = None,
    baseline: Path | None = None,
) -> list[dict]:
    from ocr.engine import cer, process_page, tesseract

    tesseract.get_api()  # load the models before timing anything
    plain = PlainTesseract()
    rows = []
    pdfs = []
    for name in kinds:
        make, dense, table = KINDS[name]
        for index in range(pages):
            rng = random.Random(f"{seed}:{name}:{index}")
            page = make(rng)
            pdf = pdfgen.image_pdf(page.image, dpi=page.dpi)
            pdfs.append(pdf)
            cpu = time.process_time()
            result = process_page(pdf, 0, use_text_layer=False)
            cpu = time.process_time() - cpu
            base = plain.read(pdf)
            row = {
                "kind": name,
                "index": index,
                "dense": dense,
                "cer": cer(page.truth, result.text),
                "cer_plain": cer(page.truth, base),
                "num": number_accuracy(page.truth, result.text),
                "num_plain": number_accuracy(page.truth, base),
                "cpu": cpu,
                "text": result.text,
                "plain": base,
                "truth": page.truth,
            }
            if sweep is not None:
                texts = sweep.texts(result.text)
                row["sweep"] = {t: cer(page.truth, text) for t, text in texts.items()}
            if table:
                row["wer"] = word_overlap_error(page.truth, result.text)
                row["wer_plain"] = word_overlap_error(page.truth, base)
            rows.append(row)
            print(
                f"  {name:<18} #{index} cer {row['cer']:6.1%}  plain {row['cer_plain']:6.1%}"
                f"  numbers {_share(row['num'])} plain {_share(row['num_plain'])}"
                f"  cpu {cpu:5.2f}s",
                file=sys.stderr,
                flush=True,
            )
    if baseline is not None:
        for row, read in zip(rows, read_baseline(baseline, pdfs), strict=True):
            row["cer_base"] = cer(row["truth"], read["text"])
            row["num_base"] = number_accuracy(row["truth"], read["text"])
            row["cpu_base"] = read["cpu"]
            row["text_base"] = read["text"]
    return rows


def _share(value: float | None) -> str:
    return "  -  " if value is None else f"{value:5.2f}"


def report(rows: list[dict]) -> str:
    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else float("nan")

    def numbers(group: list[dict], key: str) -> str:
        values = [r[key] for r in group if r.get(key) is not None]
        return f"{mean(values):.2f} ({min(values):.2f})" if values else "-"

    based = "cer_base" in rows[0]
    head = "| page kind | pages | Portico CER (worst page) | Portico numbers (worst) |"
    if based:
        head += " baseline CER | baseline numbers | baseline cpu s |"
    head += " plain tesseract CER | plain numbers | Portico cpu s/page |"
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for name in dict.fromkeys(r["kind"] for r in rows):
        group = [r for r in rows if r["kind"] == name]
        extra = ""
        if "wer" in group[0]:
            extra = (
                f" (word overlap error {mean([r['wer'] for r in group]):.1%}"
                f" vs {mean([r['wer_plain'] for r in group]):.1%})"
            )
        cells = [
            name,
            str(len(group)),
            f"{mean([r['cer'] for r in group]):.1%} ({max(r['cer'] for r in group):.1%}){extra}",
            numbers(group, "num"),
        ]
        if based:
            cells += [
                f"{mean([r['cer_base'] for r in group]):.1%}",
                numbers(group, "num_base"),
                f"{mean([r['cpu_base'] for r in group]):.2f}",
            ]
        cells += [
            f"{mean([r['cer_plain'] for r in group]):.1%}",
            numbers(group, "num_plain"),
            f"{mean([r['cpu'] for r in group]):.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    for label, subset in (
        ("clean number pages", [r for r in rows if r["kind"] in CLEAN_NUMBER_KINDS]),
        ("scanned number pages", [r for r in rows if r["kind"] in SCANNED_NUMBER_KINDS]),
    ):
        if subset:
            summary = f"{label}: numbers {numbers(subset, 'num')}"
            if based:
                summary += f", baseline {numbers(subset, 'num_base')}"
            summary += f", plain tesseract {numbers(subset, 'num_plain')}"
            lines.append("")
            lines.append(summary)
    if "sweep" in rows[0]:
        lines.append("")
        lines.append("garbage threshold sweep (mean CER per kind):")
        lines.append("| page kind | " + " | ".join(str(t) for t in GarbageSweep.SWEEP) + " |")
        lines.append("|---" * (len(GarbageSweep.SWEEP) + 1) + "|")
        for name in dict.fromkeys(r["kind"] for r in rows):
            group = [r for r in rows if r["kind"] == name]
            cells = [mean([r["sweep"][t] for r in group]) for t in GarbageSweep.SWEEP]
            lines.append(f"| {name} | " + " | ".join(f"{c:.1%}" for c in cells) + " |")
        totals = [mean([r["sweep"][t] for r in rows]) for t in GarbageSweep.SWEEP]
        lines.append("| all | " + " | ".join(f"{c:.2%}" for c in totals) + " |")
    dense = [r for r in rows if r["dense"]]
    if dense:
        lines.append("")
        cpu = mean([r["cpu"] for r in dense])
        line = (
            f"dense pages/s per core: {1 / cpu:.2f} (mean {cpu:.2f} CPU s over {len(dense)} pages)"
        )
        if based:
            base_cpu = mean([r["cpu_base"] for r in dense])
            line += f"; baseline {1 / base_cpu:.2f} ({base_cpu:.2f} CPU s)"
        lines.append(line)
    numbered = [r for r in rows if r["kind"] in NUMBER_KINDS]
    if numbered:
        cpu = mean([r["cpu"] for r in numbered])
        line = f"number pages/s per core: {1 / cpu:.2f} (mean {cpu:.2f} CPU s)"
        if based:
            base_cpu = mean([r["cpu_base"] for r in numbered])
            line += f"; baseline {1 / base_cpu:.2f} ({base_cpu:.2f} CPU s)"
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one page per kind")
    parser.add_argument("--pages", type=int, default=2, help="pages per kind")
    parser.add_argument("--kinds", default="", help="comma-separated subset of kinds")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path, help="write every page's figures and text here")
    parser.add_argument(
        "--sweep-garbage", action="store_true", help="score garbage-control thresholds too"
    )
    parser.add_argument(
        "--baseline", type=Path, help="a checkout whose engine reads every page too"
    )
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k] or list(KINDS)
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}; known: {', '.join(KINDS)}")
    started = time.perf_counter()
    sweep = GarbageSweep() if args.sweep_garbage else None
    rows = run(kinds, 1 if args.quick else args.pages, args.seed, sweep, args.baseline)
    print(report(rows))
    print(f"\n{len(rows)} pages in {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
