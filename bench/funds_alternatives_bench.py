"""Funds reservation, three ways: per-request holds, in-memory leases, one Redis step.

Usage::

    REDIS_URL=redis://127.0.0.1:6379/7 \
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portico_funds_bench \
        .venv/bin/python bench/funds_alternatives_bench.py [--runs 3] [--seconds 1.0]

It prints, per way of reserving a priced request's worst case, the cost of one admission
(reserve, then settle or finish) in microseconds (p50 / p99) and admissions per second, at
concurrency 1 and 16 (asyncio tasks; the database paths go through ``sync_to_async`` as
the gateway's admission does), next to baselines taken in the same run:

* ``hold`` rows: ``billing.holds.reserve_funds`` (the request path's conditional
  ``UPDATE`` and the ``Hold`` row), alone and followed by ``settle_usage_events`` of the
  request's usage event in its own transaction (a drain batch of one: the ledger debit
  every design pays, plus closing the hold). On a fresh SQLite database under
  ``var/bench/funds-alternatives/``, and with ``DATABASE_URL`` also on that database
  (migrated first; give it a throwaway one);
* ``lease`` row: ``billing.leases.Lease.take`` / ``Lease.finish`` on a lease already
  taken (no I/O);
* ``redis`` rows (with ``REDIS_URL``): ``RedisFunds`` below, one Lua script per step
  (registered once, called with ``EVALSHA``) over a per-wallet hash mirrored from the
  wallet, through redis-py's sync client and through ``redis.asyncio``. The sync client
  is called from the event loop as a sync caller would (it blocks the loop, so its
  c=16 row shows its calls serialised).

Between reserve and finish each admission awaits ``asyncio.sleep(0)`` once (so at c=16
up to 16 reservations are outstanding at a time); the ``empty await`` baseline is that
alone. Each measurement is ``--seconds`` long after a short warm-up. ``--runs`` repeats
the whole set (a fresh SQLite database each run) and prints the median of each figure.

Then a correctness check of ``RedisFunds``: two OS processes each start 50 concurrent
reservations against a wallet whose balance covers exactly 10 worst cases; exactly 10
must be admitted and ``reserved`` must never exceed ``balance`` (a third process samples
it throughout). Figures are printed, never asserted (``docs/performance.md`` discusses
them); the check prints PASS or FAIL and sets the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORST = Decimal("0.0123456789")  # a priced request's worst case, USD
COST = Decimal("0.0042424242")  # what it actually cost
BALANCE = Decimal("100000")  # the bench wallet: never the limit while timing
UNIT = Decimal("1E-10")  # RedisFunds counts in the ledger's quantum (ground.money)
EXACT_UNITS = 2**53  # Lua compares numbers as doubles: exact below this


# --- The Redis alternative ----------------------------------------------------------------------
RESERVE_LUA = """
-- KEYS: wallet hash, tickets hash, deadlines zset. ARGV: request id, worst, deadline.
local v = redis.call('HMGET', KEYS[1], 'balance', 'reserved')
if not v[1] then return -1 end
local worst = tonumber(ARGV[2])
if tonumber(v[1]) - tonumber(v[2]) < worst then return 0 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
"""

FINISH_LUA = """
-- KEYS: wallet hash, tickets hash, deadlines zset. ARGV: request id, cost.
local worst = redis.call('HGET', KEYS[2], ARGV[1])
if not worst then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'reserved', -tonumber(worst))
redis.call('HINCRBY', KEYS[1], 'balance', -tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[1], 'spent', ARGV[2])
return 1
"""

EXPIRE_LUA = """
-- KEYS: wallet hash, tickets hash, deadlines zset. ARGV: now. Returns tickets released.
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1], 'LIMIT', 0, 1000)
for _, id in ipairs(ids) do
  local worst = redis.call('HGET', KEYS[2], id)
  if worst then
    redis.call('HDEL', KEYS[2], id)
    redis.call('HINCRBY', KEYS[1], 'reserved', -tonumber(worst))
  end
  redis.call('ZREM', KEYS[3], id)
end
return #ids
"""

LOAD_LUA = """
-- KEYS: wallet hash. ARGV: balance. Mirrors a wallet once; 0 if it is already mirrored.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'balance', ARGV[1], 'reserved', 0, 'spent', 0)
return 1
"""


class RedisFunds:
    """Funds reservation as one atomic Redis step per request, shared by all processes.

    Per wallet a hash ``{balance, reserved, spent}`` in units of 1e-10 USD, mirrored from
    the wallet's free balance (``load``), a hash of open tickets (request id → worst case)
    and a sorted set of their deadlines. ``reserve`` admits a worst case only if
    ``balance − reserved`` covers it; ``finish`` replaces it with the actual cost
    (``reserved −= worst``, ``balance −= cost``, ``spent += cost``) once per ticket, so a
    retried finish is a no-op; ``expire`` gives back the tickets of requests that never
    finished (a crashed process), as ``release_expired_holds`` does for holds. ``spent`` is
    what a reconciler would compare with the ledger's debits.

    With a sync ``redis.Redis`` each method returns the result; with ``redis.asyncio`` it
    returns an awaitable. Bench code, not production: nothing keeps the mirror equal to the
    ledger (top-ups, refunds, Redis restarts), which a real version would have to.
    """

    def __init__(self, client, prefix: str = "bench:funds", ttl_seconds: float = 600) -> None:
        self.prefix, self.ttl = prefix, ttl_seconds
        self._reserve = client.register_script(RESERVE_LUA)
        self._finish = client.register_script(FINISH_LUA)
        self._expire = client.register_script(EXPIRE_LUA)
        self._load = client.register_script(LOAD_LUA)

    def keys(self, wallet_id: int) -> list[str]:
        tag = f"{self.prefix}:{{{wallet_id}}}"  # one hash slot per wallet (Redis Cluster)
        return [tag, f"{tag}:tickets", f"{tag}:deadlines"]

    @staticmethod
    def units(amount: Decimal) -> int:
        units = amount / UNIT
        if units != units.to_integral_value() or abs(units) >= EXACT_UNITS:
            raise ValueError(f"{amount} is not a whole number of 1e-10 USD below 2**53 units")
        return int(units)

    def load(self, wallet_id: int, free: Decimal):
        return self._load(keys=self.keys(wallet_id)[:1], args=[self.units(free)])

    def reserve(self, wallet_id: int, request_id: str, worst: Decimal):
        """1 admitted, 0 refused (or a duplicate request id), -1 wallet not mirrored."""
        deadline = time.time() + self.ttl
        return self._reserve(
            keys=self.keys(wallet_id), args=[request_id, self.units(worst), deadline]
        )

    def finish(self, wallet_id: int, request_id: str, cost: Decimal):
        """1 if the ticket was open (its worst case replaced by ``cost``), else 0."""
        return self._finish(keys=self.keys(wallet_id), args=[request_id, self.units(cost)])

    def expire(self, wallet_id: int, now: float | None = None):
        return self._expire(keys=self.keys(wallet_id), args=[time.time() if now is None else now])


# --- Timing -----------------------------------------------------------------------------------------
async def measure(admit, concurrency: int, seconds: float) -> dict:
    """``concurrency`` tasks call ``admit`` back to back for ``seconds`` (after a warm-up)."""
    times: list[int] = []
    clock = time.perf_counter_ns

    async def worker(until: float, keep: bool) -> None:
        while time.perf_counter() < until:
            started = clock()
            await admit()
            if keep:
                times.append(clock() - started)

    warm_until = time.perf_counter() + min(0.2, seconds / 4)
    await asyncio.gather(*(worker(warm_until, False) for _ in range(concurrency)))
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(started + seconds, True) for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    times.sort()
    return {
        "p50": times[len(times) // 2] / 1000,
        "p99": times[min(len(times) - 1, int(len(times) * 0.99))] / 1000,
        "ops": len(times) / elapsed,
        "cpu": cpu / len(times) * 1e6,  # this process's CPU per admission, all threads
    }


async def measure_row(rows: dict, name: str, admit, seconds: float) -> None:
    rows[name] = {str(c): await measure(admit, c, seconds) for c in (1, 16)}
    figures = "  ".join(
        f"c={c}: {r['p50']:.1f}/{r['p99']:.1f} us, {r['ops']:,.0f}/s" for c, r in rows[name].items()
    )
    print(f"    {name}: {figures}", file=sys.stderr, flush=True)


# --- One run in a child process (Django is set up once per process) -------------------------------
def setup_django(var_dir: Path, database_url: str) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH"):
        os.environ.pop(name, None)
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True)
    os.environ["PORTICO_VAR_DIR"] = str(var_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ.setdefault("CACHE_KEY_PREFIX", "funds-bench")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def funded_user() -> int:
    """A new funded user; answers their personal organization's id."""
    from accounts.models import User
    from billing.credits import credit
    from billing.models import LedgerEntry, Wallet
    from billing.wallets import current_organization_id, ensure_wallet

    email = f"funds-{uuid.uuid4().hex[:8]}@example.com"
    user = User.objects.create_user(email=email, password="x")
    org_id = current_organization_id(user)  # the wallet's key
    ensure_wallet(org_id)
    credit(org_id, BALANCE, kind=LedgerEntry.Kind.ADJUSTMENT, idempotency_key=f"bench:{email}")
    assert Wallet.objects.get(organization_id=org_id).available_usd >= BALANCE
    return org_id  # what reservations are keyed by


async def hold_rows(rows: dict, backend: str, seconds: float) -> None:
    from asgiref.sync import sync_to_async
    from django.db import transaction

    from billing.holds import reserve_funds
    from billing.settlement import settle_usage_events
    from usage.events import UsageEvent

    user_id = await sync_to_async(funded_user)()

    def request_id() -> str:
        return f"req_{os.urandom(12).hex()}"

    async def reserve_only() -> None:
        await sync_to_async(reserve_funds)(user_id, request_id(), WORST)
        await asyncio.sleep(0)

    def settle(rid: str) -> None:
        event = UsageEvent(request_id=rid, user_id=user_id, model="bench/model", cost_usd=COST)
        with transaction.atomic():
            settle_usage_events([event])

    async def reserve_and_settle() -> None:
        rid = request_id()
        await sync_to_async(reserve_funds)(user_id, rid, WORST)
        await asyncio.sleep(0)
        await sync_to_async(settle)(rid)

    await measure_row(rows, f"hold, {backend}: reserve_funds", reserve_only, seconds)
    await measure_row(rows, f"hold, {backend}: reserve_funds + settle", reserve_and_settle, seconds)


async def memory_rows(rows: dict, seconds: float) -> None:
    from asgiref.sync import sync_to_async

    from billing.leases import Lease

    async def empty() -> None:
        await asyncio.sleep(0)

    def noop() -> None:
        return None

    async def thread_hop() -> None:
        await sync_to_async(noop)()
        await asyncio.sleep(0)

    lease = Lease(1, 1, 1, BALANCE, WORST)

    async def take_finish() -> None:
        ticket = lease.take(WORST)
        await asyncio.sleep(0)
        lease.finish(ticket, COST)

    await measure_row(rows, "baseline: empty await", empty, seconds)
    await measure_row(rows, "baseline: sync_to_async(no-op)", thread_hop, seconds)
    await measure_row(rows, "lease: Lease.take + Lease.finish", take_finish, seconds)


async def redis_rows(rows: dict, redis_url: str, seconds: float) -> None:
    import redis
    import redis.asyncio as aioredis

    sync_client = redis.Redis.from_url(redis_url)
    async_client = aioredis.Redis.from_url(redis_url, max_connections=32)
    prefix = f"bench:funds:{uuid.uuid4().hex[:8]}"
    try:
        sync_funds = RedisFunds(sync_client, prefix)
        async_funds = RedisFunds(async_client, prefix)
        sync_funds.load(1, BALANCE)

        async def ping_sync() -> None:
            sync_client.ping()
            await asyncio.sleep(0)

        async def ping_async() -> None:
            await async_client.ping()
            await asyncio.sleep(0)

        async def admit_sync() -> None:
            rid = f"req_{os.urandom(12).hex()}"
            assert sync_funds.reserve(1, rid, WORST) == 1
            await asyncio.sleep(0)
            sync_funds.finish(1, rid, COST)

        async def admit_async() -> None:
            rid = f"req_{os.urandom(12).hex()}"
            assert await async_funds.reserve(1, rid, WORST) == 1
            await asyncio.sleep(0)
            await async_funds.finish(1, rid, COST)

        await measure_row(rows, "baseline: redis PING, sync client", ping_sync, seconds)
        await measure_row(rows, "baseline: redis PING, redis.asyncio", ping_async, seconds)
        await measure_row(rows, "redis: reserve + finish, sync client", admit_sync, seconds)
        await measure_row(rows, "redis: reserve + finish, redis.asyncio", admit_async, seconds)
    finally:
        sync_client.delete(*RedisFunds(sync_client, prefix).keys(1))
        sync_client.close()
        await async_client.aclose()


def child(args: argparse.Namespace) -> None:
    """One run on one database; rows as JSON on stdout, progress on stderr."""
    label = "PostgreSQL" if args.database_url else "SQLite"
    setup_django(ROOT / "var" / "bench" / "funds-alternatives" / label.lower(), args.database_url)
    rows: dict = {}

    async def run() -> None:
        if not args.database_url:
            await memory_rows(rows, args.seconds)
            if args.redis_url:
                await redis_rows(rows, args.redis_url, args.seconds)
        await hold_rows(rows, label, args.seconds)

    asyncio.run(run())
    print(json.dumps(rows))


# --- The correctness check --------------------------------------------------------------------------
def contender(redis_url: str, rounds: list[tuple[str, float]], results) -> None:
    """One OS process: per round, 50 concurrent reservations from the round's start time."""
    import redis.asyncio as aioredis

    async def run() -> list[tuple[int, float, float]]:
        client = aioredis.Redis.from_url(redis_url, max_connections=50)
        await asyncio.gather(*(client.ping() for _ in range(50)))  # 50 connections open
        pid, done = os.getpid(), []

        async def reserve(funds: RedisFunds, request_id: str) -> int:
            # Up to 5 ms apart, so the two processes' calls interleave at Redis rather
            # than one process's first ten all arriving first.
            await asyncio.sleep(random.uniform(0, 0.005))
            return await funds.reserve(1, request_id, WORST)

        for prefix, start_at in rounds:
            funds = RedisFunds(client, prefix)
            await asyncio.sleep(max(0.0, start_at - time.time()))
            first = time.time()
            got = await asyncio.gather(*(reserve(funds, f"{pid}-{i}") for i in range(50)))
            done.append((sum(1 for g in got if g == 1), first, time.time()))
        await client.aclose()
        return done

    results.put(asyncio.run(run()))


def watcher(redis_url: str, keys: list[str], stop, results) -> None:
    """Samples the wallets until ``stop``: the largest ``reserved − balance`` seen."""
    import redis

    client = redis.Redis.from_url(redis_url)
    worst_excess, samples = None, 0
    while not stop.is_set() or samples == 0:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(key, "balance", "reserved")
        for balance, reserved in pipe.execute():
            excess = int(reserved) - int(balance)
            worst_excess = excess if worst_excess is None else max(worst_excess, excess)
        samples += 1
    results.put(("watch", worst_excess, samples))


def check_redis(redis_url: str, rounds: int = 5) -> bool:
    """``rounds`` times: two processes x 50 concurrent reservations, room for 10."""
    import redis

    client = redis.Redis.from_url(redis_url)
    base = f"bench:funds-check:{uuid.uuid4().hex[:8]}"
    wallets = [RedisFunds(client, f"{base}:{n}") for n in range(rounds)]
    for funds in wallets:
        funds.load(1, 10 * WORST)
    begin = time.time() + 2.0  # after both processes have imported redis and connected
    plan = [(funds.prefix, begin + 0.3 * n) for n, funds in enumerate(wallets)]
    spawn = multiprocessing.get_context("spawn")
    stop, results = spawn.Event(), spawn.Queue()
    procs = [spawn.Process(target=contender, args=(redis_url, plan, results)) for _ in "ab"]
    keys = [funds.keys(1)[0] for funds in wallets]
    watch = spawn.Process(target=watcher, args=(redis_url, keys, stop, results))
    try:
        for p in [*procs, watch]:
            p.start()
        by_process = [results.get(timeout=60), results.get(timeout=60)]
        stop.set()
        _, worst_excess, samples = results.get(timeout=30)
        for p in [*procs, watch]:
            p.join(timeout=30)
        print(
            f"\nRedis correctness: {rounds} rounds of 2 processes x 50 concurrent reservations "
            "against a wallet whose balance covers exactly 10 worst cases"
        )
        checks: dict[str, bool] = {}
        for n, funds in enumerate(wallets):
            (a, a0, a1), (b, b0, b1) = by_process[0][n], by_process[1][n]
            balance, reserved = (int(v) for v in client.hmget(keys[n], "balance", "reserved"))
            overlap = max(0.0, min(a1, b1) - max(a0, b0)) * 1000
            print(
                f"  round {n + 1}: admitted {a} + {b} = {a + b}; reserved {reserved} of "
                f"balance {balance} (1e-10 USD); the processes' windows overlapped {overlap:.1f} ms"
            )
            checks[f"round {n + 1}: exactly 10 admitted"] = a + b == 10
            checks[f"round {n + 1}: reserved == 10 worst cases <= balance"] = (
                reserved == 10 * funds.units(WORST) <= balance
            )
        print(f"  max reserved − balance over {samples:,} samples of all wallets: {worst_excess}")
        checks["reserved never above balance while sampling"] = worst_excess <= 0
        checks.update(check_finish(wallets[0], client))
        checks["an unfinished ticket expires"] = check_expiry(wallets[0], client)
    finally:
        stop.set()
        for p in [*procs, watch]:
            if p.is_alive():
                p.terminate()
        for funds in wallets:
            client.delete(*funds.keys(1))
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    client.close()
    return all(checks.values())


def check_finish(funds: RedisFunds, client) -> dict[str, bool]:
    """Finish every ticket, then one of them again."""
    key, tickets_key = funds.keys(1)[:2]
    tickets = [rid.decode() for rid in client.hkeys(tickets_key)]
    finished = [funds.finish(1, rid, COST) for rid in tickets]
    again = funds.finish(1, tickets[0], COST) if tickets else 1
    after = {k.decode(): int(v) for k, v in client.hgetall(key).items()}
    return {
        "10 finishes: reserved back to 0, balance down by 10 costs, spent 10 costs": (
            sum(finished) == 10
            and after["reserved"] == 0
            and after["balance"] == 10 * funds.units(WORST - COST)
            and after["spent"] == 10 * funds.units(COST)
        ),
        "finishing a finished ticket changes nothing": again == 0
        and client.hgetall(key) == {k.encode(): str(v).encode() for k, v in after.items()},
    }


def check_expiry(funds: RedisFunds, client) -> bool:
    funds.reserve(1, "crashed", WORST)
    before = int(client.hget(funds.keys(1)[0], "reserved"))
    released = funds.expire(1, now=time.time() + funds.ttl + 1)
    after = int(client.hget(funds.keys(1)[0], "reserved"))
    return before == funds.units(WORST) and released == 1 and after == 0


# --- The parent: runs, medians, table ------------------------------------------------------------
def cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def one_run(args: argparse.Namespace, database_url: str) -> tuple[dict, float]:
    """The rows of one child run, and the cores other processes kept busy meanwhile."""
    busy0, total0 = cpu_busy()
    mine0 = os.times()
    cmd = [sys.executable, __file__, "--child", "--seconds", str(args.seconds)]
    cmd += ["--redis-url", args.redis_url, "--database-url", database_url]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    busy1, total1 = cpu_busy()
    mine1 = os.times()
    cores = os.cpu_count() or 1
    ours = (mine1.children_user + mine1.children_system) - (
        mine0.children_user + mine0.children_system
    )
    wall = (total1 - total0) / cores / os.sysconf("SC_CLK_TCK")
    others = ((busy1 - busy0) / os.sysconf("SC_CLK_TCK") - ours) / max(wall, 1e-9)
    return json.loads(out.strip().splitlines()[-1]), others


def median_rows(runs: list[dict]) -> dict:
    merged: dict = {}
    for name in runs[0]:
        merged[name] = {
            c: {
                k: statistics.median(r[name][c][k] for r in runs)
                for k in ("p50", "p99", "ops", "cpu")
            }
            for c in runs[0][name]
        }
    return merged


def print_table(rows: dict, runs: int, others: list[float]) -> None:
    spread = f"{min(others):.2f}-{max(others):.2f}" if others else "?"
    print(
        f"\nMedian of {runs} run(s); other processes kept {spread} cores busy during the runs "
        f"({os.cpu_count()} cores). Per admission: microseconds p50 / p99, admissions/s, and "
        "the bench process's CPU microseconds (Redis's own CPU not included):\n"
    )
    print("| row | c=1 p50 / p99 µs | c=1 ops/s | c=16 p50 / p99 µs | c=16 ops/s | CPU µs (c=16) |")
    print("|---|---|---|---|---|---|")
    for name, by_c in rows.items():
        one, many = by_c["1"], by_c["16"]
        print(
            f"| {name} | {one['p50']:.1f} / {one['p99']:.1f} | {one['ops']:,.0f} "
            f"| {many['p50']:.1f} / {many['p99']:.1f} | {many['ops']:,.0f} | {many['cpu']:.1f} |"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="repeat and print medians")
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-check", action="store_true", help="no Redis correctness check")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.child:
        child(args)
        return 0
    databases = [""] + ([args.database_url] if args.database_url.startswith("postgres") else [])
    if not args.redis_url:
        print("REDIS_URL not set: no Redis rows and no correctness check", file=sys.stderr)
    runs, others = [], []
    for n in range(args.runs):
        rows: dict = {}
        for database_url in databases:
            print(f"run {n + 1}/{args.runs}, {database_url or 'SQLite'}", file=sys.stderr)
            part, busy = one_run(args, database_url)
            rows.update(part)
            others.append(busy)
        runs.append(rows)
    print_table(median_rows(runs), args.runs, others)
    if args.redis_url and not args.skip_check:
        return 0 if check_redis(args.redis_url) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
