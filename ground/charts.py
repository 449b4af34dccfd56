"""Chart payloads: what ``static/js/charts.js`` draws, with the table and sentence that
stand in for it (screen readers, no JavaScript). Plain values in, plain dict out."""

from __future__ import annotations

from decimal import Decimal

from ground.money import format_usd, plain, usd_html

ADDITIVE_UNITS = ("usd", "tokens", "requests")


def display_value(value, unit: str, *, html: bool = False) -> str:
    """A chart value as people read it; money in cents (``html``: exact in its title)."""
    if value is None:
        return "—"
    if unit == "usd":
        return usd_html(value) if html else format_usd(value)
    if unit == "ms":
        return f"{value:,.0f} ms"
    if unit == "tok/s":
        return f"{value:,.1f} tok/s"
    return f"{value:,}"


def chart_data(
    title: str,
    labels: list[str],
    series: list[tuple[str, list]],
    unit: str,
    *,
    stacked: bool = False,
    x_label: str = "Period",
) -> dict:
    """What ``static/js/charts.js`` draws, plus the table and summary that stand in for it.

    Money travels as decimal strings (``plain()``), never as floats, with each value's
    display form (``display``, cents) for the bars' tooltips.
    """
    return {
        "title": title,
        "labels": labels,
        "series": [
            {
                "name": name,
                "values": [plain(v) if isinstance(v, Decimal) else v for v in values],
                "display": [display_value(v, unit) for v in values],
            }
            for name, values in series
        ],
        "unit": unit,
        "stacked": stacked,
        "headers": [x_label, *(name for name, _ in series)],
        "table": [
            [label, *(display_value(values[i], unit, html=True) for _, values in series)]
            for i, label in enumerate(labels)
        ],
        "summary": chart_summary(title, labels, series, unit),
    }


def chart_summary(title: str, labels: list[str], series: list[tuple[str, list]], unit: str) -> str:
    """A sentence for screen readers: the range, and each series' total or peak."""
    if not labels:
        return f"{title}: no data."
    parts = [f"{title}, {labels[0]} to {labels[-1]}"]
    for name, values in series:
        points = [(v, label) for v, label in zip(values, labels, strict=True) if v is not None]
        if not points:
            parts.append(f"{name}: no data")
            continue
        peak, peak_label = max(points, key=lambda p: p[0])
        text = f"{name}: highest {display_value(peak, unit)} ({peak_label})"
        if unit in ADDITIVE_UNITS:
            total = sum((v for v, _ in points), Decimal(0) if unit == "usd" else 0)
            text += f", total {display_value(total, unit)}"
        parts.append(text)
    return "; ".join(parts) + "."
