"""The Usage pages: filtered records with cursor paging, rollup totals and charts, CSV export."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django import forms
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from accounts.models import ApiKey
from catalog.snapshots import get_catalog_sync
from ground.money import cost_html, usd_html
from ground.text import clean_text, strict_int
from usage import queries
from usage.errors import explain
from usage.models import UsageRecord
from usage.records import pending_records

RANGE_CHOICES = [
    ("today", "Today"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("custom", "Custom dates"),
]
SOURCE_CHOICES = [
    ("", "Any source"),
    ("api_key", "API key"),
    ("playground", "Playground"),
    ("ocr", "OCR"),
    ("alretrieval", "Retrieval"),
]
STATUS_CHOICES = [("", "Any status"), *UsageRecord.Status.choices]
DEFAULT_RANGE = "7d"


class UsageFilterForm(forms.Form):
    range = forms.ChoiceField(choices=RANGE_CHOICES, required=False, label="Period")
    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    key = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, label="API key")
    model = forms.ChoiceField(required=False, label="Model")
    source = forms.ChoiceField(choices=SOURCE_CHOICES, required=False, label="Source")
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False, label="Status")

    def __init__(self, data, *, keys: list[ApiKey], models: dict[str, bool]) -> None:
        """``models``: catalog model id → whether a provider serves it."""
        super().__init__(data, label_suffix="")
        self.served = models
        self.fields["key"].choices = [("", "Any key")] + [
            (key.pk, f"{key.name} ({key.prefix}…)") for key in keys
        ]
        self.list_models(())

    def list_models(self, used) -> None:
        """The model choices: what the Models page lists (served models), the models of
        the period's Spend by model (``used``), and the one asked for."""
        served = {m for m, has_provider in self.served.items() if has_provider}
        known = sorted({*served, *used, self.data.get("model", "")} - {""})
        self.fields["model"].choices = [("", "Any model")] + [
            (m, model_label(m, self.served)) for m in known
        ]

    def filters(self, today: date) -> queries.UsageFilters:
        """The filters that validated; a field that did not is ignored (and shown in error)."""
        data = getattr(self, "cleaned_data", {})
        first, last = data.get("start"), data.get("end")
        preset = data.get("range") or ("custom" if first or last else DEFAULT_RANGE)
        start, end, preset = queries.date_range(preset, first, last, today)
        if preset != "custom" and (first or last):
            # The form shows a preset's dates; edited dates mean the user wants them instead.
            shown = queries.UsageFilters(start=start, end=end)
            if (first or shown.first_day, last or shown.last_day) != (
                shown.first_day,
                shown.last_day,
            ):
                start, end, preset = queries.date_range("custom", first, last, today)
        return queries.UsageFilters(
            start=start,
            end=end,
            preset=preset,
            api_key_id=data.get("key"),
            model=data.get("model") or "",
            source=data.get("source") or "",
            status=data.get("status") or "",
        )


def model_label(model_id: str, served: dict[str, bool]) -> str:
    if model_id not in served:
        return f"{model_id} (not in the catalog)"
    return model_id if served[model_id] else f"{model_id} (no provider)"


def user_keys(user) -> list[ApiKey]:
    return list(ApiKey.objects.filter(owner=user).order_by("name", "pk"))


def parse_filters(
    request: HttpRequest, keys: list[ApiKey]
) -> tuple[UsageFilterForm, queries.UsageFilters]:
    models = {m.public_id: bool(m.deployments) for m in get_catalog_sync().models.values()}
    form = UsageFilterForm(request.GET, keys=keys, models=models)
    form.is_valid()
    today = timezone.now().astimezone(UTC).date()
    return form, form.filters(today)


def parse_cursor(raw: str | None) -> int | None:
    return strict_int(raw) if raw else None


def filter_query(request: HttpRequest) -> str:
    """The current filters as a query string, without the paging cursor."""
    params = request.GET.copy()
    params.pop("after", None)
    return params.urlencode()


def decorate(
    records: list[UsageRecord], keys: list[ApiKey], catalog: dict[str, bool]
) -> list[UsageRecord]:
    """Display values for the table, made here once: ``{% url %}`` and ``intcomma`` per
    cell cost more than the page's queries (each asks for the active language)."""
    by_id = {key.pk: key for key in keys}
    detail = reverse("usage_detail", args=["REQUEST_ID"])
    model_page = reverse("model_detail", args=["MODEL_ID"])
    for record in records:
        key = by_id.get(record.api_key_id)
        record.key_name = key.name if key else ""
        record.key_prefix = key.prefix if key else ""
        # Only models the catalog has get a link: a failed call may name anything.
        record.model_url = (
            model_page.replace("MODEL_ID", quote(record.model, safe="/"))
            if record.model in catalog
            else ""
        )
        record.time_display = record.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        record.cost_display = cost_html(record.cost_usd)
        record.detail_url = detail.replace("REQUEST_ID", quote(record.request_id, safe=""))
        record.prompt_display = f"{record.prompt_tokens:,}"
        record.completion_display = f"{record.completion_tokens:,}"
        record.latency_display = f"{record.latency_ms:,} ms"
        record.ttft_display = f"{record.ttft_ms:,} ms" if record.ttft_ms is not None else ""
    return records


@login_required
def usage(request: HttpRequest) -> HttpResponse:
    keys = user_keys(request.user)
    form, filters = parse_filters(request, keys)
    after = parse_cursor(request.GET.get("after"))
    records, next_cursor = queries.record_page(request.user.pk, filters, after)
    pending = []
    if after is None:
        # Read-your-writes without a write: requests that finished in the last second
        # are listed from where they wait for the worker, marked as being recorded.
        drained = {r.request_id for r in records}
        pending = [
            r
            for r in pending_records(request.user.pk)
            if r.request_id not in drained and queries.matches(r, filters)
        ]
    context = {
        "form": form,
        "filters": filters,
        "pending_count": len(pending),
        "records": decorate(pending + records, keys, form.served),
        "next_cursor": next_cursor,
        "after": after,
        "query": filter_query(request),
    }
    if request.htmx and after is not None and not request.htmx.history_restore_request:
        response = render(request, "usage/usage.html#usage-rows", context)
    else:
        summary = queries.usage_summary(request.user.pk, filters, catalog=form.served)
        form.list_models(model for model, _ in summary.by_model)
        context.update(
            summary=summary,
            spend_chart=summary.spend_chart(filters.hourly),
            tokens_chart=summary.tokens_chart(filters.hourly),
            model_bars=model_bars(summary),
            bucket_label="hour" if filters.hourly else "day",
        )
        response = render(request, "usage/usage.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def model_bars(summary: queries.UsageSummary) -> list[dict]:
    """Spend per model with each bar's share of the largest, for a chart drawn in HTML."""
    top = max((t.cost for _, t in summary.by_model), default=0)
    return [
        {
            "model": model,
            "totals": totals,
            "cost": usd_html(totals.cost),
            "percent": round(totals.cost * 100 / top, 1) if top else 0,
        }
        for model, totals in summary.by_model
    ]


@login_required
def usage_export(request: HttpRequest) -> StreamingHttpResponse:
    keys = user_keys(request.user)
    _, filters = parse_filters(request, keys)
    lines = queries.export_lines(
        request.user.pk,
        filters,
        {key.pk: key.prefix for key in keys},
        key_names={key.pk: key.name for key in keys},
    )
    response = StreamingHttpResponse(
        for_server(request, lines), content_type="text/csv; charset=utf-8"
    )
    name = f"portico-usage-{filters.first_day:%Y-%m-%d}-to-{filters.last_day:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Accel-Buffering"] = "no"  # let a proxy pass the rows on as they come
    return response


def for_server(request: HttpRequest, lines: Iterator[str]) -> Iterator[str] | AsyncIterator[str]:
    """Under ASGI, Django would first collect a synchronous iterator into a list; hand it an
    asynchronous one that pulls each part from the database thread instead."""
    if not isinstance(request, ASGIRequest):
        return lines
    step = sync_to_async(next, thread_sensitive=True)
    close = sync_to_async(lines.close, thread_sensitive=True)
    done = object()

    async def pump() -> AsyncIterator[str]:
        try:
            while (part := await step(lines, done)) is not done:
                yield part
        finally:
            await close()

    return pump()


@login_required
def usage_detail(request: HttpRequest, request_id: str) -> HttpResponse:
    request_id = clean_text(request_id, 64)
    record = (
        UsageRecord.objects.select_related("api_key")
        .filter(request_id=request_id, user=request.user)
        .first()
    )
    if record is None:  # finished a moment ago and not drained yet?
        record = next(
            (r for r in pending_records(request.user.pk) if r.request_id == request_id), None
        )
    if record is None:
        raise Http404("No such request")
    record.cost_display = cost_html(record.cost_usd)
    context = {
        "record": record,
        "error_explanation": explain(record.error_code, record.http_status)
        if record.status != UsageRecord.Status.OK
        else "",
        "model_in_catalog": record.model in get_catalog_sync().models,
    }
    return render(request, "usage/usage_detail.html", context)
