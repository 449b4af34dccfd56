"""The Usage pages: filters, cursor paging, rollup totals and charts, CSV export, detail."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from asgiref.sync import async_to_sync
from django.db.models import Sum
from django.test import AsyncClient, Client
from django.urls import reverse
from django.utils import timezone

from accounts.keys import issue_key
from ground.money import format_usd as usd
from tests.support.html import money_span
from tests.support.usage import usage_event
from usage.drain import discard_pending_events, record_usage_events
from usage.events import emit_sync
from usage.models import UsageRecord, UsageRollup
from usage.queries import UsageFilters, date_range, usage_summary

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)


def event(user, **fields) -> dict:
    """A usage event as ``gateway.metering.usage_event`` makes it; ``fields`` override."""
    at = fields.pop("at", None) or timezone.now()
    defaults = {
        "request_id": f"req_test{next(_ids):06d}",
        "model": "portico/test-chat",
        "provider": "local",
        "upstream_model": "test-chat",
        "prompt_tokens": 100,
        "completion_tokens": 50,
        "estimated_prompt_tokens": 98,
        "cost_usd": "0.000125",
        "latency_ms": 420,
        "ttft_ms": 80,
        "created_at": at.timestamp(),
    }
    return usage_event(user, **{**defaults, **fields})


def record(user, **fields) -> dict:
    item = event(user, **fields)
    record_usage_events([item])
    return item


@pytest.fixture(autouse=True)
def _no_pending_events():
    discard_pending_events()
    yield
    discard_pending_events()


@pytest.fixture
def web() -> Client:
    """Django's test client (``client`` here is the gateway tests' OpenAI SDK client)."""
    return Client()


@pytest.fixture
def signed_in(web, alice):
    web.force_login(alice)
    return web


def rows_of(response) -> list[UsageRecord]:
    return list(response.context["records"])


def test_it_asks_visitors_to_sign_in(web):
    response = web.get(reverse("usage"))
    assert response.status_code == HTTPStatus.FOUND
    assert "/accounts/login/" in response["Location"]


def test_it_lists_only_my_records_newest_first(signed_in, alice, bob):
    now = timezone.now()
    mine = [record(alice, at=now - timedelta(minutes=n)) for n in (3, 2, 1)]
    record(bob, model="bobs-model")

    response = signed_in.get(reverse("usage"))

    assert response.status_code == HTTPStatus.OK
    assert [r.request_id for r in rows_of(response)] == [e.request_id for e in reversed(mine)]
    assert b"bobs-model" not in response.content


def test_a_page_view_drains_requests_that_just_finished(signed_in, alice):
    pending = event(alice, model="just-finished")
    emit_sync(pending)

    response = signed_in.get(reverse("usage"))

    assert [r.request_id for r in rows_of(response)] == [pending.request_id]


def test_it_filters_by_model_key_source_and_status(signed_in, alice):
    key = issue_key(alice, "ci").key
    record(alice, model="a-model", api_key_id=key.pk)
    record(alice, model="b-model", source="playground")
    failed = record(alice, model="b-model", status="error", http_status=502, cost_usd="0")
    record(alice, model="c-model", source="ocr", units=3)

    def ids(**params) -> set[str]:
        return {r.request_id for r in rows_of(signed_in.get(reverse("usage"), params))}

    assert len(ids()) == 4
    assert len(ids(model="b-model")) == 2
    assert len(ids(key=key.pk)) == 1
    assert len(ids(source="playground")) == 1
    assert len(ids(source="ocr")) == 1
    assert ids(status="error") == {failed.request_id}
    assert ids(model="b-model", status="ok", source="playground") != set()


def test_someone_elses_key_is_not_a_valid_filter(signed_in, alice, bob):
    theirs = issue_key(bob, "theirs").key
    record(alice)

    response = signed_in.get(reverse("usage"), {"key": theirs.pk})

    assert "key" in response.context["form"].errors
    assert len(rows_of(response)) == 1  # the invalid filter is ignored, not applied


def test_date_presets_and_custom_ranges_bound_the_records(signed_in, alice):
    now = timezone.now()
    today = record(alice, at=now)
    last_week = record(alice, at=now - timedelta(days=5))
    last_month = record(alice, at=now - timedelta(days=20))
    record(alice, at=now - timedelta(days=90))

    def ids(**params) -> set[str]:
        return {r.request_id for r in rows_of(signed_in.get(reverse("usage"), params))}

    assert ids(range="today") == {today.request_id}
    assert ids(range="7d") == {today.request_id, last_week.request_id}
    assert ids() == ids(range="7d")
    assert ids(range="30d") == {e.request_id for e in (today, last_week, last_month)}
    day = (now - timedelta(days=20)).date()
    assert ids(range="custom", start=day.isoformat(), end=day.isoformat()) == {
        last_month.request_id
    }


def test_edited_dates_switch_a_preset_to_a_custom_range(signed_in, alice):
    now = timezone.now()
    old = record(alice, at=now - timedelta(days=40))
    day = (now - timedelta(days=40)).date().isoformat()

    response = signed_in.get(reverse("usage"), {"range": "7d", "start": day, "end": day})

    assert response.context["filters"].preset == "custom"
    assert [r.request_id for r in rows_of(response)] == [old.request_id]


def test_custom_ranges_are_capped_and_ordered():
    today = datetime(2025, 6, 30, tzinfo=UTC).date()
    start, end, preset = date_range("custom", today, today - timedelta(days=2), today)
    assert (start.date(), end.date(), preset) == (
        today - timedelta(days=2),
        today + timedelta(1),
        "custom",
    )
    start, end, _ = date_range("custom", today - timedelta(days=2000), today, today)
    assert (end - start).days == 366


def test_pages_hold_fifty_records_and_load_more_after_a_cursor(signed_in, alice):
    now = timezone.now()
    events = [event(alice, at=now - timedelta(seconds=200 - n)) for n in range(120)]
    record_usage_events(events)
    newest_first = [e.request_id for e in reversed(events)]

    first = signed_in.get(reverse("usage"))
    assert [r.request_id for r in rows_of(first)] == newest_first[:50]
    cursor = first.context["next_cursor"]
    assert f"after={cursor}".encode() in first.content

    more = signed_in.get(reverse("usage"), {"after": cursor}, headers={"HX-Request": "true"})
    assert re.findall(r"/usage/(req_\w+)/", more.content.decode()) == newest_first[50:100]
    assert b"<html" not in more.content  # only the rows and the next "Load more"
    next_cursor = re.search(r"after=(\d+)", more.content.decode()).group(1)

    without_js = signed_in.get(reverse("usage"), {"after": cursor})
    assert [r.request_id for r in rows_of(without_js)] == newest_first[50:100]
    assert b"back to the newest" in without_js.content

    last = signed_in.get(reverse("usage"), {"after": next_cursor})
    assert [r.request_id for r in rows_of(last)] == newest_first[100:]
    assert last.context["next_cursor"] is None
    assert b"Load more" not in last.content


def test_totals_come_from_rollups_and_match_the_records(
    signed_in, alice, django_assert_max_num_queries
):
    now = timezone.now()
    costs = ["0.0012", "0.0034", "0.00005", "0", "1.25"]
    for n, cost in enumerate(costs):
        record(
            alice,
            at=now - timedelta(days=n),
            cost_usd=cost,
            prompt_tokens=10 * n,
            completion_tokens=n,
        )
    record(alice, at=now - timedelta(days=10), cost_usd="9")  # outside 7 days

    response = signed_in.get(reverse("usage"), {"range": "7d"})

    totals = response.context["summary"].totals
    records = UsageRecord.objects.filter(
        user=alice, created_at__gte=response.context["filters"].start
    )
    sums = records.aggregate(p=Sum("prompt_tokens"), c=Sum("completion_tokens"))
    assert totals.cost == sum(Decimal(c) for c in costs)
    assert totals.requests == records.count() == 5
    assert (totals.prompt_tokens, totals.completion_tokens) == (sums["p"], sums["c"])
    assert usd(totals.cost).encode() in response.content
    daily = response.context["summary"].buckets
    assert len(daily) == 7 and sum((t.cost for _, t in daily), Decimal(0)) == totals.cost


def test_the_spend_chart_is_hourly_for_short_ranges(signed_in, alice):
    record(alice, cost_usd="0.5")

    today = signed_in.get(reverse("usage"), {"range": "today"})
    week = signed_in.get(reverse("usage"), {"range": "7d"})

    assert today.context["filters"].hourly
    assert today.context["spend_chart"]["headers"][0] == "Hour (UTC)"
    assert not week.context["filters"].hourly
    assert len(week.context["spend_chart"]["labels"]) == 7
    assert b'id="spend-chart-data"' in week.content
    assert "$0.50" in week.context["spend_chart"]["summary"]


def test_spend_by_model_is_ordered_by_cost(signed_in, alice):
    record(alice, model="cheap", cost_usd="0.01")
    record(alice, model="dear", cost_usd="2")
    record(alice, model="dear", cost_usd="1")

    bars = signed_in.get(reverse("usage")).context["model_bars"]

    assert [(b["model"], b["cost"], b["percent"]) for b in bars] == [
        ("dear", money_span("$3.00"), 100),
        ("cheap", money_span("$0.01"), Decimal("0.3")),
    ]


def test_a_status_filter_says_the_totals_ignore_it(signed_in, alice):
    record(alice, status="error", cost_usd="0")
    record(alice)

    response = signed_in.get(reverse("usage"), {"status": "error"})

    assert len(rows_of(response)) == 1
    assert response.context["summary"].totals.requests == 2
    assert b"Totals and charts count every status" in response.content


def test_estimated_token_counts_are_marked(signed_in, alice):
    record(alice, tokens_reported=False, prompt_tokens=321)

    response = signed_in.get(reverse("usage"))

    assert b"~321" in response.content
    assert b"Estimated: the provider reported no counts" in response.content


def test_totals_stay_off_the_records_table(alice):
    """Totals read only rollups: 10 million records cost the same as ten."""
    record(alice, cost_usd="0.25")
    UsageRecord.objects.all().delete()  # rollups stay
    start, end, preset = date_range("7d", None, None, timezone.now().date())
    summary = usage_summary(alice.pk, UsageFilters(start=start, end=end, preset=preset))
    assert summary.totals.cost == Decimal("0.25")
    assert UsageRollup.objects.filter(user=alice).exists()


# --- CSV export ------------------------------------------------------------------------
def read_csv(response) -> list[dict]:
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_the_csv_export_streams_the_filtered_records(signed_in, alice, bob):
    key = issue_key(alice, "ci").key
    record(alice, model="a-model", api_key_id=key.pk, cost_usd="0.0000123")
    record(alice, model="b-model", tokens_reported=False)
    record(bob, model="a-model")

    response = signed_in.get(reverse("usage_export"), {"model": "a-model", "range": "30d"})

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="portico-usage-')
    rows = read_csv(response)
    assert len(rows) == 1
    assert rows[0]["model"] == "a-model"
    assert rows[0]["cost_usd"] == "0.0000123"  # a number, not text: spreadsheets sum it
    assert rows[0]["api_key_prefix"] == key.prefix
    assert rows[0]["tokens_reported"] == "True"


def test_the_csv_export_is_produced_in_parts(signed_in, alice):
    now = timezone.now()
    record_usage_events([event(alice, at=now - timedelta(seconds=1200 - n)) for n in range(1200)])

    response = signed_in.get(reverse("usage_export"))

    parts = list(response.streaming_content)
    assert len(parts) >= 3  # header, then a part per few hundred rows: never one big string
    rows = list(csv.DictReader(io.StringIO(b"".join(parts).decode())))
    assert len(rows) == 1200
    assert rows[0]["created_at"] > rows[-1]["created_at"]


def test_the_csv_export_neutralises_formula_cells(signed_in, alice):
    record(alice, model="=HYPERLINK(1)")
    rows = read_csv(signed_in.get(reverse("usage_export")))
    assert rows[0]["model"] == "'=HYPERLINK(1)"


# --- Request detail --------------------------------------------------------------------
def test_the_detail_page_shows_the_whole_request(signed_in, alice):
    key = issue_key(alice, "prod").key
    item = record(
        alice,
        api_key_id=key.pk,
        provider="backup",
        upstream_model="fake-llm",
        fallbacks=1,
        status="error",
        http_status=502,
        error_code="upstream_error",
        tokens_reported=False,
        estimated_prompt_tokens=77,
        stream=True,
        cost_usd="0.0042",
    )

    response = signed_in.get(reverse("usage_detail", args=[item.request_id]))

    assert response.status_code == HTTPStatus.OK
    text = response.content.decode()
    for expected in (
        "backup",
        "fake-llm",
        "upstream_error",
        "502",
        "$0.0042",
        "Estimated",
        "77",
        key.prefix,
    ):
        assert expected in text, expected


def test_someone_elses_request_is_not_found(signed_in, bob):
    theirs = record(bob)
    response = signed_in.get(reverse("usage_detail", args=[theirs.request_id]))
    assert response.status_code == HTTPStatus.NOT_FOUND


def test_an_unknown_request_is_not_found(signed_in):
    response = signed_in.get(reverse("usage_detail", args=["req_nope"]))
    assert response.status_code == HTTPStatus.NOT_FOUND


def test_under_asgi_the_export_streams_without_collecting_the_rows_first(alice, recwarn):
    """Django collects a synchronous iterator into a list under ASGI; ours is asynchronous."""
    record_usage_events([event(alice, model=f"m{n}") for n in range(700)])
    web = AsyncClient()
    web.force_login(alice)

    async def download() -> tuple[bool, list[bytes]]:
        response = await web.get(reverse("usage_export"))
        return response.is_async, [part async for part in response.streaming_content]

    is_async, parts = async_to_sync(download)()

    assert is_async
    assert len(parts) >= 3
    rows = list(csv.DictReader(io.StringIO(b"".join(parts).decode())))
    assert [row["model"] for row in rows] == [f"m{n}" for n in reversed(range(700))]
    assert not [w for w in recwarn if "StreamingHttpResponse" in str(w.message)]


def test_paging_neither_skips_nor_repeats_records_of_the_same_instant(signed_in, alice):
    at = timezone.now() - timedelta(minutes=5)
    record_usage_events([event(alice, at=at) for _ in range(120)])

    seen, after = [], None
    for _ in range(3):
        response = signed_in.get(reverse("usage"), {"after": after} if after else {})
        seen += [r.request_id for r in rows_of(response)]
        after = response.context["next_cursor"]
    assert after is None
    assert len(seen) == len(set(seen)) == 120
