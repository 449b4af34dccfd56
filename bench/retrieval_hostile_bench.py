"""Hostile retrieval input against a real server: the query that respells hundreds of
made-up words, and a DOCX of millions of empty paragraphs.

Usage::

    .venv/bin/python bench/retrieval_hostile_bench.py [--words 50000] [--skip-docx]

**Query.** A real Portico server (uvicorn, SQLite in a temporary folder, the indexing
task inline) holds a collection made of one TXT of ``--words`` distinct made-up words.
Printed, with the load average beside them:

* the server's CPU time (``/proc/<pid>/stat``) for one ordinary query and for the
  hostile one: ~490 distinct made-up 7-letter words that all start with the same letter
  (3.9 KB), none of them in the collection, so every one is a candidate for the
  spelling lookup;
* the latency of a priced chat completion (the built-in ``portico/test-chat``) on the
  same server, alone (the baseline) and while the hostile query runs;
* in this process, on the same database: the previous release's lookup (every absent
  word compared in Python against every vocabulary word with its first letter) and the
  bounded one (``retrieval.spelling``), CPU time and comparisons.

**DOCX.** A 0.5 MB DOCX whose ``word/document.xml`` is 63 MB of ``<w:p/>`` plus 0.4 MB of
random base64 (ratio ~120: under the archive limits). Two fresh child processes each
read it: the previous release's way (the whole part parsed into one tree) and
``retrieval.extract.extract`` (streaming, bounded). Each prints what it answered, its
time, and its peak RSS above its own baseline (``ru_maxrss`` after imports, before
reading the file). The same for a DOCX just under the paragraph limit (accepted).
Children are capped at 4 GB of address space.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import resource
import string
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CAP = 4 << 30


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, default=50_000)
    parser.add_argument("--skip-docx", action="store_true")
    parser.add_argument("--skip-query", action="store_true")
    parser.add_argument("--docx-child", nargs=2, metavar=("PATH", "MODE"), help=argparse.SUPPRESS)
    return parser.parse_args()


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load avg {one:.1f} / {five:.1f} / {fifteen:.1f}"


# --- The query --------------------------------------------------------------------------
def made_up(rng: random.Random, first: str | None = None, length: int = 7) -> str:
    first = first or rng.choice(string.ascii_lowercase)
    return first + "".join(rng.choice(string.ascii_lowercase) for _ in range(length - 1))


def vocabulary(rng: random.Random, count: int) -> list[str]:
    words: set[str] = set()
    while len(words) < count:
        words.add(made_up(rng, length=rng.randint(5, 10)))
    return sorted(words)


def hostile_query(rng: random.Random, known: set[str]) -> str:
    words: list[str] = []
    while len(words) < 490:
        word = made_up(rng, "s", 7)
        if word not in known and word not in words:
            words.append(word)
    return " ".join(words)


def setup_django() -> None:
    os.environ["PORTICO_VAR_DIR"] = tempfile.mkdtemp(prefix="portico-hostile-bench-")
    for name in ("REDIS_URL", "DATABASE_URL"):
        os.environ.pop(name, None)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_catalog", str(ROOT / "catalog.yaml"), stdout=io.StringIO())


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def chat_latency(client, url: str, secret: str) -> float:
    started = time.perf_counter()
    response = client.post(
        url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {secret}"},
        json={"model": "portico/test-chat", "messages": [{"role": "user", "content": "hi"}]},
        timeout=300,
    )
    response.raise_for_status()
    return time.perf_counter() - started


def run_query_bench(words: int) -> None:
    import httpx
    from django.conf import settings

    from accounts.keys import issue_key
    from accounts.models import User
    from billing.credits import credit
    from billing.wallets import current_organization_id
    from tests.support.processes import PorticoServer, child_env

    rng = random.Random(7)
    vocab = vocabulary(rng, words)
    query = hostile_query(rng, set(vocab))
    user = User.objects.create_user(email="bench@example.com", password="x")
    from decimal import Decimal

    credit(
        current_organization_id(user),
        Decimal(1000),
        kind="adjustment",
        idempotency_key="bench:hostile",
    )
    secret = issue_key(user, "bench", scopes=["alretrieval", "chat"], rpm=10_000_000).secret
    env = child_env(
        CELERY_TASK_ALWAYS_EAGER="1",
        DEBUG="0",
        SECRET_KEY=settings.SECRET_KEY,
        LOCAL_MODEL_TOKENS_PER_SECOND="100000",
        LOCAL_MODEL_FIRST_TOKEN_MS="1",
    )
    server = PorticoServer(env)
    try:
        server.wait_ready(timeout=60)
        client = httpx.Client(timeout=600)
        auth = {"Authorization": f"Bearer {secret}"}
        base = server.url + "/v1/alRetrieval/collections"
        cid = client.post(base, headers=auth, json={}).json()["collection_id"]
        started = time.perf_counter()
        answer = client.post(
            f"{base}/{cid}/documents/ingest",
            headers=auth,
            files={"file": ("words.txt", " ".join(vocab).encode(), "text/plain")},
        ).json()
        print(
            f"ingest of {words:,} distinct words: {time.perf_counter() - started:.1f} s, {answer}"
        )
        pid = server.proc.pid

        def timed_query(text: str) -> tuple[float, float, int]:
            cpu, wall = cpu_seconds(pid), time.perf_counter()
            response = client.post(f"{base}/{cid}/query", headers=auth, json={"query": text})
            return cpu_seconds(pid) - cpu, time.perf_counter() - wall, response.status_code

        chat_latency(client, server.url, secret)  # warm
        alone = sorted(chat_latency(client, server.url, secret) for _ in range(5))
        print(
            f"chat alone: median {alone[2] * 1000:.0f} ms, max {alone[-1] * 1000:.0f} ms ({load()})"
        )
        cpu, wall, status = timed_query(f"{vocab[10]} {vocab[20]} {vocab[30]}x")
        print(
            f"ordinary query: server CPU {cpu * 1000:.0f} ms, wall {wall * 1000:.0f} ms ({status})"
        )
        during: list[float] = []
        result: dict = {}

        def hostile() -> None:
            result["query"] = timed_query(query)

        thread = threading.Thread(target=hostile)
        thread.start()
        chat_client = httpx.Client(timeout=600)
        while thread.is_alive():
            during.append(chat_latency(chat_client, server.url, secret))
        thread.join()
        cpu, wall, status = result["query"]
        print(
            f"hostile query ({len(query.encode())} bytes, {len(query.split())} words): server CPU "
            f"{cpu:.2f} s, wall {wall:.2f} s ({status}) ({load()})"
        )
        print(
            f"chat during the hostile query: {len(during)} chats, max {max(during) * 1000:.0f} ms, "
            f"first {during[0] * 1000:.0f} ms"
        )
    finally:
        server.stop()
    compare_lookups(query)


def legacy_lookup(collection_id: int, absent: list[str]) -> tuple[int, int]:
    """The previous release's lookup: every absent word against every vocabulary word
    with its first letter, in Python. Returns (words respelled, comparisons)."""
    from retrieval.models import Term
    from retrieval.spelling import max_edits

    found = comparisons = 0
    for term in absent:
        limit = max_edits(term)
        if not limit:
            continue
        vocabulary_rows = Term.objects.filter(
            collection_id=collection_id, term__gte=term[0], term__lt=chr(ord(term[0]) + 1)
        ).values_list("term", flat=True)
        scored = []
        for candidate in vocabulary_rows.iterator(chunk_size=5000):
            if abs(len(candidate) - len(term)) <= limit and candidate != term:
                comparisons += 1
                distance = legacy_distance(term, candidate, limit)
                if distance <= limit:
                    scored.append((distance, candidate))
        found += bool(scored)
    return found, comparisons


def legacy_distance(a: str, b: str, limit: int) -> int:
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before, previous = [], list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, before[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]


def compare_lookups(query: str) -> None:
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    from retrieval.models import Collection, Term
    from retrieval.spelling import QueryBudget, edit_distance, max_edits, spelling_relatives
    from retrieval.text import terms

    collection = Collection.objects.get()
    absent = sorted(set(terms(query)))
    started = time.process_time()
    budget = QueryBudget()
    relatives = spelling_relatives(collection.pk, absent, budget)
    bounded = time.process_time() - started
    print(
        f"bounded lookup, in-process: {bounded * 1000:.0f} ms CPU, {budget.respelled} words "
        f"looked up, {budget.vocabulary_rows:,} vocabulary rows read, {len(relatives)} respelled"
    )
    started = time.process_time()
    found, comparisons = legacy_lookup(collection.pk, absent)
    legacy = time.process_time() - started
    print(
        f"previous release's lookup, in-process: {legacy:.2f} s CPU, {len(absent)} words looked "
        f"up, {comparisons:,} comparisons, {found} respelled ({load()})"
    )
    # The distance itself: rapidfuzz against the previous pure-Python loop, same pairs.
    words = [t for t in absent if max_edits(t)][:50]
    vocabulary_rows = list(
        Term.objects.filter(collection_id=collection.pk).values_list("term", flat=True)
    )
    pairs = [(w, v) for w in words for v in vocabulary_rows if v[0] == w[0]]
    started = time.process_time()
    python = sum(legacy_distance(a, b, 2) <= 2 for a, b in pairs)
    python_cpu = time.process_time() - started
    started = time.process_time()
    fast = sum(edit_distance(a, b, 2) <= 2 for a, b in pairs)
    fast_cpu = time.process_time() - started
    by_letter = {w[0]: [v for v in vocabulary_rows if v[0] == w[0]] for w in words}
    started = time.process_time()
    for word in words:
        process.extract(word, by_letter[word[0]], scorer=OSA.distance, score_cutoff=2, limit=None)
    batch_cpu = time.process_time() - started
    print(
        f"edit distance on {len(pairs):,} pairs: Python {python_cpu * 1000:.0f} ms, rapidfuzz "
        f"one by one {fast_cpu * 1000:.0f} ms, rapidfuzz process.extract {batch_cpu * 1000:.0f} ms "
        f"(same matches: {python == fast})"
    )


# --- The DOCX ---------------------------------------------------------------------------
def hostile_docx(paragraphs: int = 63 * 1024 * 1024 // 6) -> bytes:
    rng = random.Random(3)
    noise = base64.b64encode(rng.randbytes(300_000)).decode()
    body = "<w:p/>" * paragraphs
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}<w:p><w:r><w:t>{noise}</w:t></w:r></w:p></w:body></w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", xml)
    return out.getvalue()


def docx_child(path: str, mode: str) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))
    from defusedxml.ElementTree import fromstring

    from retrieval.extract import ExtractionError, extract

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    data = Path(path).read_bytes()
    started = time.perf_counter()
    try:
        if mode == "previous":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                part = archive.read("word/document.xml")
            root = fromstring(part, forbid_dtd=True)
            outcome = f"parsed: {sum(1 for _ in root.iter())} elements"
        else:
            pages = extract(".docx", data)
            outcome = f"accepted: {len(pages)} pages"
    except ExtractionError as exc:
        outcome = f"refused: {exc.code}: {exc.message}"
    except MemoryError:
        outcome = "MemoryError"
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    print(json.dumps({"outcome": outcome, "seconds": elapsed, "peak_mib": peak / 1024}))


def run_docx_bench() -> None:
    from retrieval.reading import MAX_PARAGRAPHS

    cases = [
        ("hostile", hostile_docx(), ("previous", "extract")),
        # Just under the paragraph limit: accepted, its 0.4 MB of text split into pages.
        ("under the limits", hostile_docx(MAX_PARAGRAPHS - 10), ("previous", "extract")),
    ]
    for label, data, modes in cases:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo("word/document.xml")
        print(
            f"{label} DOCX: {len(data) / 1024:.0f} KB, word/document.xml "
            f"{info.file_size / 2**20:.1f} MB (ratio {info.file_size / info.compress_size:.0f})"
        )
        with tempfile.NamedTemporaryFile(suffix=".docx") as handle:
            handle.write(data)
            handle.flush()
            for mode in modes:
                docx_run(handle.name, mode)


def docx_run(path: str, mode: str) -> None:
    out = subprocess.run(
        [sys.executable, __file__, "--docx-child", path, mode],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"},
    )
    if out.returncode:
        print(f"  {mode}: exited {out.returncode}: {out.stderr[-500:]}")
        return
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    label = "whole-tree parse (previous release)" if mode == "previous" else "extract"
    print(
        f"  {label}: {figures['outcome']}; {figures['seconds']:.2f} s, peak RSS "
        f"+{figures['peak_mib']:.0f} MiB ({load()})"
    )


def main() -> None:
    args = parse_args()
    if args.docx_child:
        docx_child(*args.docx_child)
        return
    print(load())
    if not args.skip_docx:
        run_docx_bench()
    if not args.skip_query:
        setup_django()
        run_query_bench(args.words)


if __name__ == "__main__":
    main()
