"""Time the staff overview (/admin/overview/) and a user's admin page over ~100k usage records.

Usage::

    .venv/bin/python bench/admin_overview_bench.py [--rows 100000] [--users 200] [--repeat 5]

Runs on a fresh SQLite database in a temporary folder (``DATABASE_URL`` and ``REDIS_URL``
are ignored, so it never touches real data). Usage events are made as the gateway makes
them and turned into records and rollups by the drain's own functions
(``usage_record_from``, ``rollup_totals``, ``add_latency``), spread over 30 days, one in
fifty failed; some OCR jobs and documents are left queued and some wallets unpaid. It then
prints, for the whole page through Django's test client as a staff user, the first and
median time and the number of SQL queries, and the same for the heaviest user's admin page.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODELS = [
    ("deep-sa/alLLM", "groq"),
    ("openai/gpt-5-mini", "openai"),
    ("llama-3.3-70b", "groq"),
    ("anthropic/claude-haiku-4-5", "anthropic"),
    ("portico/test-chat", "local"),
]
DAYS = 30


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--dir", help="state folder to keep the generated database in and reuse on the next run"
    )
    return parser.parse_args()


def setup_django(folder: str | None) -> bool:
    """Django on a SQLite database in ``folder`` (or a new temporary one); True if it was
    already filled by an earlier run."""
    for name in ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH"):
        os.environ.pop(name, None)
    folder = folder or tempfile.mkdtemp(prefix="portico-overview-bench-")
    filled = (Path(folder) / "portico.sqlite3").exists()
    os.environ["PORTICO_VAR_DIR"] = folder
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)
    return filled


def generate(rows: int, users: int) -> tuple[int, int]:
    """Records, rollups, queued work and unpaid wallets; returns (staff id, busiest user id)."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import ApiKey, Organization, User
    from billing.models import Wallet
    from catalog.models import LatencyRollup, Provider
    from ocr.models import OcrJob
    from retrieval.models import Collection, Document
    from usage.drain import add_latency, hour_of, rollup_totals, usage_record_from
    from usage.events import UsageEvent
    from usage.models import DeadUsageEvent, UsageRecord, UsageRollup

    rng = random.Random(14)
    started = time.monotonic()
    staff = User.objects.create_user(
        email="ops@example.com", is_staff=True, is_superuser=True, password="x"
    )
    people = User.objects.bulk_create(
        [User(email=f"user{n}@example.com", password="!") for n in range(users)]
    )
    keys = ApiKey.objects.bulk_create(
        [
            ApiKey(owner=user, name=f"key {n}", prefix=f"pk-{user.pk}-{n}", hashed_key=f"{user.pk}:{n}")
            for user in people
            for n in range(2)
        ]
    )  # fmt: skip
    orgs = Organization.objects.bulk_create(
        [Organization(name=f"user{n}'s organization", personal_for=user) for n, user in enumerate(people)]
    )  # fmt: skip
    Wallet.objects.bulk_create(
        [
            Wallet(organization=org, balance_usd=Decimal(5), unpaid_usd=Decimal("0.3") if n % 40 == 0 else 0)
            for n, org in enumerate(orgs)
        ]
    )  # fmt: skip
    for name in {provider for _, provider in MODELS}:
        Provider.objects.create(name=name, kind="local" if name == "local" else "openai",
                                base_url="" if name == "local" else f"http://{name}.test/v1")  # fmt: skip

    now = time.time()
    # A few heavy users, a long tail: the top lists have something to sort.
    weights = [1 / (n + 1) for n in range(users)]
    events = []
    for g in range(rows):
        user_index = rng.choices(range(users), weights)[0]
        model, provider = MODELS[g % 7 % len(MODELS)]
        failed = g % 50 == 0
        events.append(
            UsageEvent(
                request_id=f"req_bench_{g}",
                user_id=people[user_index].pk,
                api_key_id=keys[user_index * 2 + g % 2].pk,
                model=model,
                provider=provider,
                prompt_tokens=100 + g % 900,
                completion_tokens=0 if failed else 20 + g % 400,
                cost_usd=Decimal(0) if failed else Decimal(100 + g % 900) / 1_000_000,
                status="error" if failed else "ok",
                http_status=502 if failed else 200,
                error_code="upstream_error" if failed else "",
                latency_ms=200 + g % 1800,
                ttft_ms=50 + g % 400,
                created_at=now - (rows - g) * DAYS * 86400 / rows,  # ids grow with time
            )
        )
    with transaction.atomic():
        UsageRecord.objects.bulk_create([usage_record_from(e) for e in events], batch_size=5000)
        UsageRollup.objects.bulk_create(
            [
                UsageRollup(hour=h, user_id=u, api_key_id=k, model=m, source=s, **totals)
                for (h, u, k, m, s), totals in rollup_totals(events).items()
            ],
            batch_size=5000,
        )
        latency: dict[tuple, LatencyRollup] = {}
        for e in events:
            key = (hour_of(e), e.model, e.provider)
            row = latency.get(key) or latency.setdefault(
                key, LatencyRollup(hour=key[0], model=key[1], provider=key[2],
                                   latency_hist=[], ttft_hist=[])
            )  # fmt: skip
            add_latency(row, e)
        LatencyRollup.objects.bulk_create(latency.values(), batch_size=2000)

        at = timezone.now()
        OcrJob.objects.bulk_create(
            [
                OcrJob(token=f"tok{n}", owner=people[n % users], filename=f"scan{n}.pdf",
                       status="queued" if n % 100 == 0 else "done", total_pages=5,
                       pages_done=0 if n % 100 == 0 else 5, created_at=at - timedelta(minutes=n),
                       expires_at=at + timedelta(days=3))
                for n in range(5000)
            ]
        )  # fmt: skip
        collection = Collection.objects.create(owner=people[0], name="bench")
        Document.objects.bulk_create(
            [
                Document(collection=collection, filename=f"d{n}.txt", mime_type="text/plain",
                         status="queued" if n % 200 == 0 else "ready")
                for n in range(5000)
            ]
        )  # fmt: skip
        DeadUsageEvent.objects.create(request_id="req_parked", payload="{}", error="bench")
    elapsed = time.monotonic() - started
    print(
        f"  generated {rows:,} records, {UsageRollup.objects.count():,} usage rollups, "
        f"{LatencyRollup.objects.count():,} latency rollups in {elapsed:.1f} s",
        flush=True,
    )
    return staff.pk, people[0].pk


def measure(label: str, action, repeat: int, *, cold: bool = True) -> None:
    """First and median time of ``action``; ``cold``: with an empty cache each time."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    runs, queries = [], 0
    for _ in range(repeat):
        if cold:
            cache.clear()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            action()
            runs.append((time.perf_counter() - started) * 1000)
        queries = len(captured.captured_queries)
    print(
        f"  {label:<44} first {runs[0]:7.1f} ms   median {statistics.median(runs):7.1f} ms"
        f"   {queries} queries",
        flush=True,
    )


def main() -> int:
    args = parse_args()
    print(f"Admin overview over {args.rows:,} usage records, {args.users} users (SQLite):")
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    filled = setup_django(args.dir)

    from django.test import Client

    from accounts.models import User
    from portal import overview as parts

    if filled:
        print("  reusing the database in", args.dir)
        staff_id = User.objects.get(email="ops@example.com").pk
        busiest = User.objects.get(email="user0@example.com").pk
    else:
        staff_id, busiest = generate(args.rows, args.users)

    client = Client()
    client.force_login(User.objects.get(pk=staff_id))

    def page(url: str) -> None:
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    from django.utils import timezone

    now = timezone.now()
    since = now - timedelta(days=DAYS)
    for label, part in (
        ("traffic, 24 h and 30 days", lambda: parts.traffic(now)),
        ("top users, keys, models", lambda: parts.top_spenders(since)),
        ("provider health", lambda: parts.provider_health(now)),
        ("recent failures", parts.recent_failures),
        ("OCR queue", parts.ocr_queue),
        ("retrieval queue", parts.retrieval_queue),
        ("parked events", parts.parked_events),
        ("unpaid wallets", parts.unpaid_wallets),
    ):
        measure(f"  part: {label}", part, args.repeat)
    measure("overview queries only (portal.overview)", parts.overview, args.repeat)
    measure("GET /admin/overview/ (whole page)", lambda: page("/admin/overview/"), args.repeat)
    measure(
        "GET /admin/overview/, rollup figures cached",
        lambda: page("/admin/overview/"),
        args.repeat,
        cold=False,
    )
    measure(
        "GET the busiest user's admin page",
        lambda: page(f"/admin/accounts/user/{busiest}/change/"),
        args.repeat,
    )
    measure("GET /admin/ocr/ocrjob/", lambda: page("/admin/ocr/ocrjob/"), args.repeat)
    measure("GET /admin/retrieval/document/", lambda: page("/admin/retrieval/document/"), args.repeat)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
