"""The Models pages: the catalog as a filterable table, and one page per model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from catalog.models import Model
from catalog.snapshots import ModelEntry, get_catalog_sync
from catalog.stats import hourly_series, model_stats
from ground.charts import chart_data
from ground.money import cost_html
from ground.text import clean_text

UNIT_NAMES = {Model.Type.OCR: "page", Model.Type.RETRIEVAL: "query"}
TYPE_LABELS = {
    Model.Type.LLM: "LLM",
    Model.Type.EMBEDDING: "Embedding",
    Model.Type.OCR: "OCR",
    Model.Type.RETRIEVAL: "Retrieval",
}


def user_allowlist(user) -> frozenset[str] | None:
    """The models the user may call; None means every model (an empty admin allowlist)."""
    return frozenset(user.allowed_models) if user.allowed_models else None


@dataclass(frozen=True)
class ModelRow:
    entry: ModelEntry
    stats: dict
    allowed: bool

    @property
    def id(self) -> str:
        return self.entry.public_id

    @property
    def type_label(self) -> str:
        return TYPE_LABELS.get(self.entry.type, self.entry.type)

    @property
    def providers(self) -> list[tuple[str, str]]:
        """``(name, label)`` of each provider, in routing order, without repeats."""
        seen: dict[str, str] = {}
        for deployment in self.entry.deployments:
            seen.setdefault(deployment.provider.name, deployment.provider.label)
        return list(seen.items())

    @property
    def unit(self) -> str:
        return UNIT_NAMES.get(self.entry.type, "")

    @property
    def price_unit(self) -> str:
        """What a price is for: ``1M tokens``, or the model's unit (``page``, ``query``)."""
        return self.unit or "1M tokens"

    @property
    def input_price(self) -> str:
        """The input price per 1M tokens, or the price per unit (``$0.002``, see ``price_unit``)."""
        return cost_html(self.entry.unit_price if self.unit else self.entry.input_price_per_1m)

    @property
    def output_price(self) -> str:
        if self.unit or self.entry.type == Model.Type.EMBEDDING:
            return ""
        return cost_html(self.entry.output_price_per_1m)

    @property
    def cached_price(self) -> str:
        price = self.entry.cached_input_price_per_1m
        return cost_html(price) if price is not None else ""

    @property
    def error_percent(self) -> float | None:
        rate = self.stats.get("error_rate")
        return None if rate is None else round(rate * 100, 2)

    def matches(self, text: str) -> bool:
        haystack = " ".join(
            [self.entry.public_id, self.entry.name, *(f"{n} {lbl}" for n, lbl in self.providers)]
        )
        return all(word in haystack.lower() for word in text.lower().split())


def catalog_rows(user) -> list[ModelRow]:
    """Enabled models that have at least one enabled deployment, with 24-hour stats."""
    allowlist = user_allowlist(user)
    stats = model_stats(24)
    return [
        ModelRow(
            entry=entry,
            stats=stats.get(entry.public_id) or {"sample_size": 0},
            allowed=allowlist is None or entry.public_id in allowlist,
        )
        for entry in sorted(get_catalog_sync().models.values(), key=lambda e: e.public_id)
        if entry.deployments
    ]


def last_if_none(value: float | None) -> tuple[bool, float]:
    """A sort key putting unknown values (no traffic measured, no context given) last."""
    return (value is None, value or 0.0)


def price_key(row: ModelRow) -> tuple:
    # Token prices and per-page / per-query prices are not comparable: token-priced
    # models first (input, then output price), then the rest by their unit price.
    entry = row.entry
    if row.unit:
        return (1, entry.unit_price, 0)
    return (0, entry.input_price_per_1m, entry.output_price_per_1m)


def negated(value: float | None) -> float | None:
    return None if value is None else -value


# ``?sort=`` values: the cheapest, largest, fastest first; unknowns always last.
SORTS: dict[str, tuple[str, Callable[[ModelRow], tuple]]] = {
    "": ("Name", lambda row: ()),
    "price": ("Lowest price", price_key),
    "context": (
        "Largest context",
        lambda row: last_if_none(negated(row.entry.context_window)),
    ),
    "latency": ("Lowest latency", lambda row: last_if_none(row.stats.get("p50_ms"))),
    "throughput": (
        "Most tokens/s",
        lambda row: last_if_none(negated(row.stats.get("tokens_per_second"))),
    ),
}
# Words people use for a type in a shared link (?type=chat).
TYPE_ALIASES = {"chat": Model.Type.LLM, "embeddings": Model.Type.EMBEDDING}


class ModelFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    type = forms.ChoiceField(required=False, label="Type")
    provider = forms.ChoiceField(required=False, label="Provider")
    sort = forms.ChoiceField(
        required=False, label="Sort by", choices=[(k, label) for k, (label, _) in SORTS.items()]
    )

    def __init__(self, data, *, rows: list[ModelRow]) -> None:
        # Only the fields, cleaned: a NUL or a lone surrogate is never echoed into the form.
        data = {name: clean_text(data.get(name), 200) for name in self.base_fields if name in data}
        if data.get("type", "").lower() in TYPE_ALIASES:
            data["type"] = TYPE_ALIASES[data["type"].lower()]
        super().__init__(data, label_suffix="")
        types = sorted({row.entry.type for row in rows})
        self.fields["type"].choices = [("", "All types")] + [
            (t, TYPE_LABELS.get(t, t)) for t in types
        ]
        providers = sorted({p for row in rows for p in row.providers}, key=lambda p: p[1].lower())
        self.fields["provider"].choices = [("", "All providers"), *providers]
        self.fields["q"].widget.attrs.update(
            {"type": "search", "placeholder": "Search models", "autocomplete": "off"}
        )

    def apply(self, rows: list[ModelRow]) -> list[ModelRow]:
        data = getattr(self, "cleaned_data", {})
        text, kind, provider = data.get("q", ""), data.get("type", ""), data.get("provider", "")
        kept = [
            row
            for row in rows
            if (not text or row.matches(text))
            and (not kind or row.entry.type == kind)
            and (not provider or provider in dict(row.providers))
        ]
        # An invalid field is left out of cleaned_data: it is ignored, never an error page.
        key = SORTS[data.get("sort") or ""][1]
        return sorted(kept, key=lambda row: (*key(row), row.id))


@login_required
def model_list(request: HttpRequest) -> HttpResponse:
    rows = catalog_rows(request.user)
    form = ModelFilterForm(request.GET, rows=rows)
    form.is_valid()
    context = {"form": form, "rows": form.apply(rows), "total": len(rows)}
    partial = request.htmx and not request.htmx.history_restore_request
    template = "catalog/models.html#model-results" if partial else "catalog/models.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def hourly_points(model_id: str, hours: int = 24, now: datetime | None = None) -> list[dict]:
    """``hourly_series`` with the quiet hours filled in, so charts span the whole window."""
    now = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    by_hour = {point["hour"]: point for point in hourly_series(model_id, hours)}
    points = []
    for back in range(hours - 1, -1, -1):
        hour = now - timedelta(hours=back)
        points.append({"at": hour, **by_hour.get(hour.isoformat(), {"sample_size": 0})})
    return points


def model_charts(points: list[dict]) -> dict[str, dict]:
    labels = [p["at"].strftime("%H:00") for p in points]
    return {
        "latency": chart_data(
            "Latency, last 24 hours (UTC)",
            labels,
            [
                ("p50", [p.get("p50_ms") for p in points]),
                ("p95", [p.get("p95_ms") for p in points]),
                ("Time to first token (p50)", [p.get("ttft_p50_ms") for p in points]),
            ],
            "ms",
            x_label="Hour (UTC)",
        ),
        "throughput": chart_data(
            "Throughput, last 24 hours (UTC)",
            labels,
            [("Tokens per second", [p.get("tokens_per_second") for p in points])],
            "tok/s",
            x_label="Hour (UTC)",
        ),
        "requests": chart_data(
            "Requests per hour, last 24 hours (UTC)",
            labels,
            [("Requests", [p.get("sample_size", 0) for p in points])],
            "requests",
            x_label="Hour (UTC)",
        ),
    }


@login_required
def model_detail(request: HttpRequest, model_id: str) -> HttpResponse:
    row = next((r for r in catalog_rows(request.user) if r.id == model_id), None)
    if row is None:
        raise Http404("No such model in the catalog")
    points = hourly_points(model_id)
    return render(
        request,
        "catalog/model_detail.html",
        {"row": row, "model": row.entry, "charts": model_charts(points)},
    )


def quickstart_model(user, preferred: Sequence[str] = ()) -> str:
    """A chat model the user may call, for example code: a recent favourite, else the
    built-in test model, else the first one allowed ("" when none is)."""
    allowlist = user_allowlist(user)
    ids = sorted(
        entry.public_id
        for entry in get_catalog_sync().models.values()
        if entry.deployments
        and entry.type == Model.Type.LLM
        and (allowlist is None or entry.public_id in allowlist)
    )
    for model_id in [*preferred, "portico/test-chat", *ids]:
        if model_id in ids:
            return model_id
    return ""
