"""Benchmark the Usage page (and the dashboard) against 10 million usage records.

Usage::

    DATABASE_URL=postgres://root@127.0.0.1:5432/postgres .venv/bin/python bench/usage_page_bench.py \
        [--rows 10000000] [--max-seconds 600] [--keep]

Needs PostgreSQL: without a ``postgres://`` ``DATABASE_URL`` it says so and exits 0 (so
``make bench`` stays green on the default SQLite setup). It creates its own database,
``portico_bench`` (dropped first if it exists, and dropped again at the end unless
``--keep``), migrates it, and fills it with bulk SQL:

* ``--rows`` usage records from one ``INSERT … SELECT generate_series`` per million rows
  (indexes are dropped during the load and rebuilt after, as a bulk load should);
  one user in ten is the benchmark user (~1M rows with the default 10M), spread over 90
  days, ids growing with time as in production;
* the hourly rollups with one ``INSERT … SELECT … GROUP BY`` over the records.

Generation stops early (and says so) once ``--max-seconds`` have gone by. Then it times,
through Django's test client as the benchmark user: the usage page (first page, filtered
by model, by status, the next page via htmx), the 30-day totals and charts from rollups,
the first 10,000 rows of the CSV export, a request's detail page and the dashboard.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DB = "portico_bench"
CHUNK = 1_000_000
USERS = 10  # user 1 of every 10 rows is the one whose pages we time
DAYS = 90
MODELS = [
    "openai/gpt-5-mini",
    "deep-sa/alLLM",
    "llama-3.3-70b",
    "anthropic/claude-haiku-4-5",
    "google/gemini-2.5-flash",
    "portico/test-chat",
    "deep-sa/alEmbedding",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--max-seconds", type=float, default=600, help="cap on data generation")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database")
    return parser.parse_args()


def bench_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{BENCH_DB}", query=""))


def admin_connect(url: str):
    import psycopg

    parts = urlsplit(url)
    maintenance = urlunsplit(parts._replace(path="/postgres", query=""))
    return psycopg.connect(maintenance, autocommit=True)


def recreate_database(url: str) -> None:
    with admin_connect(url) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")


def drop_database(url: str) -> None:
    with admin_connect(url) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def setup_django(url: str) -> None:
    # Point Django at the benchmark database, and keep it off this machine's real usage
    # events: a private spool folder, no Redis stream.
    os.environ["DATABASE_URL"] = bench_url(url)
    os.environ.pop("REDIS_URL", None)
    os.environ["PORTICO_VAR_DIR"] = tempfile.mkdtemp(prefix="portico-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)


def make_people() -> tuple[int, list[int], list[int]]:
    """The benchmark user, the others, and the benchmark user's three keys."""
    from accounts.keys import issue_key
    from accounts.models import User

    users = [User.objects.create_user(email=f"bench{n}@example.com") for n in range(USERS)]
    keys = [issue_key(users[0], f"key {n}").key.pk for n in range(3)]
    return users[0].pk, [u.pk for u in users], keys


def timed(label: str, seconds: float) -> None:
    print(f"  {label:<58} {seconds:8.1f} s", flush=True)


def load_records(cursor, rows: int, user_ids: list[int], keys: list[int], budget: float) -> int:
    """Insert ``rows`` records in chunks; stop early when the time budget is spent."""
    models = "ARRAY[" + ",".join(f"'{m}'" for m in MODELS) + "]"
    users = "ARRAY[" + ",".join(str(u) for u in user_ids) + "]"
    key_list = "ARRAY[" + ",".join(str(k) for k in keys) + "]"
    started = time.monotonic()
    done = 0
    while done < rows:
        if time.monotonic() - started > budget:
            print(f"  time budget spent: stopping at {done:,} records", flush=True)
            break
        upto = min(rows, done + CHUNK)
        # Row g: user g % 10 (slot 0 is the benchmark user), time growing with g over DAYS
        # days up to now; mostly two models, mostly API keys (three, one much used), one
        # error in 50, one cancellation in 200, one estimated count in 20.
        sql = f"""
            INSERT INTO gateway_usagerecord (
                request_id, user_id, api_key_id, model, provider, deployment_id, upstream_model,
                source, endpoint, stream, prompt_tokens, completion_tokens, cached_tokens,
                tokens_reported, estimated_prompt_tokens, units, cost_usd, status, http_status,
                error_code, latency_ms, ttft_ms, fallbacks, created_at)
            SELECT
                'req_bench_' || g,
                ({users})[1 + g % {USERS}],
                CASE WHEN g % {USERS} <> 0 OR (g / 10) % 100 >= 90 THEN NULL
                     WHEN (g / 10) % 20 < 14 THEN ({key_list})[1]
                     WHEN (g / 10) % 20 < 19 THEN ({key_list})[2] ELSE ({key_list})[3] END,
                CASE WHEN (g / 10) % 10 < 6 THEN ({models})[1]
                     WHEN (g / 10) % 10 < 9 THEN ({models})[2]
                     ELSE ({models})[1 + (g / 100) % {len(MODELS)}] END,
                'bench', NULL, 'upstream-model',
                CASE WHEN (g / 10) % 100 < 90 THEN 'api_key' WHEN (g / 10) % 100 < 97 THEN 'playground'
                     WHEN (g / 10) % 100 < 99 THEN 'ocr' ELSE 'alretrieval' END,
                'chat.completions', g % 2 = 0,
                100 + g % 900, 20 + g % 400, 0,
                g % 20 <> 0, 100 + g % 900, 0,
                CASE WHEN g % 50 = 0 THEN 0 ELSE ((100 + g % 900) * 0.25 + (20 + g % 400) * 2.0) / 1000000 END,
                CASE WHEN g % 50 = 0 THEN 'error' WHEN g % 200 = 7 THEN 'cancelled' ELSE 'ok' END,
                CASE WHEN g % 50 = 0 THEN 502 ELSE 200 END,
                CASE WHEN g % 50 = 0 THEN 'upstream_error' ELSE '' END,
                200 + g % 1800, 50 + g % 400, (g % 97 = 0)::int,
                now() - make_interval(secs => ({rows} - g) * ({DAYS} * 86400.0 / {rows}))
            FROM generate_series(%s, %s) AS g
            """
        # "%" is psycopg's placeholder mark: the modulo operator is written "%%".
        cursor.execute(sql.replace(" % ", " %% "), [done + 1, upto])
        done = upto
        print(f"  … {done:,} records ({time.monotonic() - started:.0f} s)", flush=True)
    return done


def secondary_indexes(cursor, table: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Index definitions and unique constraints of ``table``, other than its primary key."""
    cursor.execute(
        """
        SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN (
            SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)
        """,
        [table, table],
    )
    indexes = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'u'",
        [table],
    )
    return indexes, cursor.fetchall()


def generate(rows: int, budget: float) -> tuple[int, list[int]]:
    from django.db import connection

    bench_user, user_ids, keys = make_people()
    table = "gateway_usagerecord"
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        indexes, uniques = secondary_indexes(cursor, table)
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        foreign_keys = cursor.fetchall()
        for name, _ in [*uniques, *foreign_keys]:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname NOT IN ("
            " SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [table, table],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"DROP INDEX {name}")

        started = time.monotonic()
        loaded = load_records(cursor, rows, user_ids, keys, budget)
        timed(f"insert {loaded:,} records (generate_series)", time.monotonic() - started)

        started = time.monotonic()
        for definition in indexes:
            cursor.execute(definition)
        for name, definition in [*uniques, *foreign_keys]:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        timed(
            f"rebuild {len(indexes) + len(uniques)} indexes, {len(foreign_keys)} foreign keys",
            time.monotonic() - started,
        )

        started = time.monotonic()
        cursor.execute(
            """
            INSERT INTO gateway_usagerollup (hour, user_id, api_key_id, model, source, requests,
                errors, prompt_tokens, completion_tokens, units, cost_usd)
            SELECT date_trunc('hour', created_at), user_id, api_key_id, model, source, count(*),
                count(*) FILTER (WHERE status = 'error'), sum(prompt_tokens),
                sum(completion_tokens), sum(units), sum(cost_usd)
            FROM gateway_usagerecord GROUP BY 1, 2, 3, 4, 5
            """
        )
        cursor.execute("SELECT count(*) FROM gateway_usagerollup")
        rollups = cursor.fetchone()[0]
        timed(f"build {rollups:,} hourly rollups", time.monotonic() - started)

        started = time.monotonic()
        cursor.execute("ANALYZE gateway_usagerecord")
        cursor.execute("ANALYZE gateway_usagerollup")
        timed("analyze", time.monotonic() - started)
        cursor.execute("SELECT count(*) FROM gateway_usagerecord WHERE user_id = %s", [bench_user])
        mine = cursor.fetchone()[0]
    print(f"  benchmark user has {mine:,} records", flush=True)
    return bench_user, keys


def measure(label: str, action, repeat: int) -> None:
    from django.db import reset_queries

    runs = []
    for _ in range(repeat):
        reset_queries()
        started = time.perf_counter()
        action()
        runs.append((time.perf_counter() - started) * 1000)
    print(
        f"  {label:<46} first {runs[0]:8.1f} ms   median {statistics.median(runs):8.1f} ms",
        flush=True,
    )


def explain(label: str, queryset) -> None:
    """The first lines of PostgreSQL's plan, with timings, for one records query."""
    plan = queryset.explain(analyze=True).splitlines()
    print(f"  plan for {label}:", flush=True)
    for line in plan[:6]:
        print(f"    {line.strip()[:110]}", flush=True)


def time_pages(bench_user: int, repeat: int) -> None:
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from accounts.models import User
    from usage import queries

    client = Client()
    client.force_login(User.objects.get(pk=bench_user))
    usage = reverse("usage")

    def page(params: dict, htmx: bool = False) -> None:
        response = client.get(usage, params, headers={"HX-Request": "true"} if htmx else {})
        assert response.status_code == 200, response.status_code

    first = client.get(usage, {"range": "30d"})
    cursor = first.context["next_cursor"]
    some_request = first.context["records"][0].request_id

    today = timezone.now().date()
    start, end, preset = queries.date_range("30d", None, None, today)
    thirty = queries.UsageFilters(start=start, end=end, preset=preset)
    newest = queries.NEWEST_FIRST
    explain("first page", queries.records_query(bench_user, thirty).order_by(*newest)[:51])
    by_model = queries.UsageFilters(start=start, end=end, preset=preset, model=MODELS[2])
    explain("model filter", queries.records_query(bench_user, by_model).order_by(*newest)[:51])

    print("Timings (Django test client, whole request unless noted):", flush=True)
    measure("usage page, default (7 days)", lambda: page({}), repeat)
    measure("usage page, 30 days", lambda: page({"range": "30d"}), repeat)
    measure(
        "usage page, 30 days, one model", lambda: page({"range": "30d", "model": MODELS[2]}), repeat
    )
    measure(
        "usage page, 30 days, status=error",
        lambda: page({"range": "30d", "status": "error"}),
        repeat,
    )
    measure("usage page, custom 90 days", lambda: page({"range": "custom", "start": (today - timedelta(days=89)).isoformat(), "end": today.isoformat()}), repeat)  # fmt: skip
    old = {"range": "custom", "start": (today - timedelta(days=88)).isoformat(), "end": (today - timedelta(days=80)).isoformat()}  # fmt: skip
    measure("usage page, custom 9 days, 80-88 days ago", lambda: page(old), repeat)
    measure("load more (htmx, after=cursor)", lambda: page({"range": "30d", "after": cursor}, htmx=True), repeat)  # fmt: skip
    measure("totals + charts, 30 days (query only)", lambda: queries.usage_summary(bench_user, thirty), repeat)  # fmt: skip

    def export_10k() -> None:
        response = client.get(reverse("usage_export"), {"range": "30d"})
        lines = 0
        for part in response.streaming_content:
            lines += part.count(b"\n")
            if lines > 10_000:
                break
        response.close()

    measure("CSV export, first 10,000 rows (30 days)", export_10k, repeat)
    measure("request detail page", lambda: client.get(reverse("usage_detail", args=[some_request])), repeat)  # fmt: skip
    measure("dashboard", lambda: client.get(reverse("dashboard")), repeat)


def main() -> int:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
        print(
            "usage_page_bench: skipped — set DATABASE_URL to a PostgreSQL server, e.g.\n"
            "  DATABASE_URL=postgres://root@127.0.0.1:5432/postgres make bench\n"
            f"(it creates and drops its own database, {BENCH_DB})."
        )
        return 0
    print(f"Creating database {BENCH_DB} and loading {args.rows:,} usage records…", flush=True)
    recreate_database(url)
    try:
        setup_django(url)
        bench_user, _ = generate(args.rows, args.max_seconds)
        time_pages(bench_user, args.repeat)
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep:
            print(f"Kept database {BENCH_DB}.")
        else:
            drop_database(url)
            print(f"Dropped database {BENCH_DB}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
