"""The figures of a gateway benchmark run and their printed summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DIRECT = "fake upstream (direct)"
GRANIAN = "portico on granian"
TARGET_ADDED_P50_MS = 1.0
TARGET_PLAIN_RPS = 1000
TARGET_STREAM_RPS = 500
TARGET_STREAMS_RSS_MIB = 500


@dataclass
class Cell:
    """One closed-loop run: a target, plain or streamed, at one concurrency."""

    target: str
    mode: str
    concurrency: int
    rps: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    ttfb_p50_ms: float | None = None
    ttfb_p99_ms: float | None = None
    ok: int = 0
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    server_cpu: float | None = None  # cores the server used during the window
    loadgen_cpu: float | None = None
    other_cpu: float | None = None  # cores used by processes that are not part of the bench
    rss_mib: float | None = None

    @property
    def cpu_ms_per_request(self) -> float | None:
        if self.server_cpu is None or not self.rps:
            return None
        return self.server_cpu * 1000 / self.rps


@dataclass
class Report:
    args: dict[str, Any]
    machine: dict[str, str]
    cells: list[Cell] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    streams: dict[str, Any] = field(default_factory=dict)
    drains: list[dict[str, Any]] = field(default_factory=list)
    profiles: dict[str, str] = field(default_factory=dict)
    idle_rss_mib: dict[str, float] = field(default_factory=dict)
    per_request: dict[str, dict[str, float]] = field(default_factory=dict)
    micro: dict[str, dict[str, float]] = field(default_factory=dict)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def find(self, target: str, mode: str, concurrency: int) -> Cell | None:
        for cell in self.cells:
            if (cell.target, cell.mode, cell.concurrency) == (target, mode, concurrency):
                return cell
        return None

    def added_p50(self, cell: Cell) -> float | None:
        direct = self.find(DIRECT, cell.mode, cell.concurrency)
        if direct is None or direct is cell or cell.p50_ms is None or direct.p50_ms is None:
            return None
        return cell.p50_ms - direct.p50_ms


# --- Formatting ------------------------------------------------------------------------------
def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def progress_line(cell: Cell) -> str:
    parts = [
        f"{cell.target:<24} {cell.mode:<6} c={cell.concurrency:<3}",
        f"{cell.rps:>8,.0f} rps",
        f"p50 {ms(cell.p50_ms):>7} ms",
        f"p99 {ms(cell.p99_ms):>7} ms",
    ]
    if cell.mode == "stream":
        parts.append(f"ttfb p50 {ms(cell.ttfb_p50_ms)} ms")
    if cell.server_cpu is not None:
        parts.append(f"server CPU {cell.server_cpu:.0%}")
    if cell.loadgen_cpu is not None:
        parts.append(f"client CPU {cell.loadgen_cpu:.0%}")
    if cell.other_cpu is not None and cell.other_cpu >= 0.1:
        parts.append(f"OTHER PROCESSES {cell.other_cpu:.0%}")
    if cell.errors:
        parts.append(f"ERRORS {cell.errors} {cell.statuses}")
    return "  ".join(parts)


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        cells = zip(row, widths, strict=True)
        lines.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(cells))
        )
    return "\n".join(lines)


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


def summary_rows(report: Report) -> list[list[str]]:
    rows = []
    for cell in report.cells:
        added = report.added_p50(cell)
        rows.append(
            [
                cell.target,
                cell.mode,
                str(cell.concurrency),
                f"{cell.rps:,.0f}",
                ms(cell.p50_ms),
                ms(cell.p99_ms),
                ms(cell.ttfb_p50_ms) if cell.mode == "stream" else "",
                ms(added) if added is not None else "",
                percent(cell.server_cpu),
                ms(cell.cpu_ms_per_request) if cell.cpu_ms_per_request is not None else "",
                f"{cell.rss_mib:.0f}" if cell.rss_mib is not None else "",
                percent(cell.loadgen_cpu),
                percent(cell.other_cpu),
                str(cell.errors),
            ]
        )
    return rows


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "MISSED")


def target_rows(report: Report) -> list[list[str]]:
    rows = []
    for target in ("portico", "portico priced"):
        for mode in ("plain", "stream"):
            cell = report.find(target, mode, 1)
            added = report.added_p50(cell) if cell else None
            if added is not None:
                rows.append(
                    [
                        f"added p50 at c=1, {mode}, {target}",
                        f"{added:.2f} ms",
                        f"≤ {TARGET_ADDED_P50_MS:g} ms",
                        verdict(added <= TARGET_ADDED_P50_MS),
                    ]
                )
    for target in ("portico", "portico priced"):
        for mode, goal in (("plain", TARGET_PLAIN_RPS), ("stream", TARGET_STREAM_RPS)):
            cell = report.find(target, mode, 16)
            if cell:
                rows.append(
                    [
                        f"RPS at c=16, {mode}, {target}",
                        f"{cell.rps:,.0f}",
                        f"≥ {goal:,}",
                        verdict(cell.rps >= goal),
                    ]
                )
    if report.streams:
        s = report.streams
        rss = s.get("open_rss_mib")
        all_open = s.get("open_now") == s["streams"]
        ok = None if rss is None else rss < TARGET_STREAMS_RSS_MIB and all_open
        rows.append(
            [
                f"RSS with {s['streams']:,} streams ({s.get('open_now', 0):,} open at once)",
                f"{rss:.0f} MiB" if rss is not None else "-",
                f"< {TARGET_STREAMS_RSS_MIB} MiB",
                verdict(ok),
            ]
        )
    return rows


def ratio_rows(report: Report, mine: str, theirs: str) -> list[list[str]]:
    rows = []
    for cell in report.cells:
        other = report.find(theirs, cell.mode, cell.concurrency)
        if cell.target != mine or other is None:
            continue
        rows.append(
            [
                cell.mode,
                str(cell.concurrency),
                f"{cell.rps:,.0f}",
                f"{other.rps:,.0f}",
                f"{cell.rps / other.rps:.2f}x" if other.rps else "-",
                ms(cell.p50_ms),
                ms(other.p50_ms),
                f"{cell.rss_mib:.0f}" if cell.rss_mib else "-",
                f"{other.rss_mib:.0f}" if other.rss_mib else "-",
            ]
        )
    return rows


def per_request_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    labels = list(report.per_request)
    names = sorted({name for counts in report.per_request.values() for name in counts})
    rows = [
        [name, *(f"{report.per_request[label].get(name, 0):.2f}" for label in labels)]
        for name in names
    ]
    return ["per request", *labels], rows


def print_summary(report: Report, duration: float, warmup: float, tokens: int) -> None:
    section(
        f"Summary: closed loop, {duration:g}s per cell after a {warmup:g}s warm-up, {tokens} "
        f"completion tokens, one server worker, {report.machine['nproc']} CPUs"
    )
    headers = [
        "target",
        "mode",
        "c",
        "RPS",
        "p50 ms",
        "p99 ms",
        "TTFB p50",
        "added p50",
        "srv CPU",
        "CPU ms/req",
        "RSS MiB",
        "client",
        "others",
        "errors",
    ]
    print(table(headers, summary_rows(report)))
    print(
        "  added p50: this row's p50 minus the fake upstream's at the same mode and c.\n"
        "  srv CPU: cores the server process used in the window; CPU ms/req: its CPU per\n"
        "  answered request. client: the load generator's cores. others: cores used by\n"
        "  processes outside the benchmark (should be ~0%; otherwise the figures are low)."
    )
    section("Targets (printed, not asserted)")
    print(table(["target", "measured", "goal", "verdict"], target_rows(report)))
    if report.per_request:
        section("What one request costs inside Portico (counted, sequential requests)")
        headers, rows = per_request_rows(report)
        print(table(headers, rows))
    if report.micro:
        section("What single operations cost (µs per operation, one process)")
        rows = [
            [name, f"{m['wall_us']:,.1f}", f"{m['cpu_us']:,.1f}"]
            for name, m in report.micro.items()
        ]
        print(table(["operation", "wall µs", "CPU µs"], rows))
    comparisons = [
        (
            "portico",
            "litellm",
            "Portico vs LiteLLM proxy (same upstream, one worker each)",
            "LiteLLM",
        ),
        (GRANIAN, "portico", "Portico on granian vs on uvicorn (unpriced)", "uvicorn"),
    ]
    for mine, theirs, title, other in comparisons:
        rows = ratio_rows(report, mine, theirs)
        if rows:
            section(title)
            me = {"portico": "Portico", GRANIAN: "granian"}[mine]
            headers = [
                "mode",
                "c",
                f"{me} RPS",
                f"{other} RPS",
                "ratio",
                f"{me} p50",
                f"{other} p50",
            ]
            print(table([*headers, f"{me} RSS", f"{other} RSS"], rows))
    if report.notes:
        section("Notes")
        for note in report.notes:
            print(f"  - {note}")
