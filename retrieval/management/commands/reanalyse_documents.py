"""``manage.py reanalyse_documents``: rewrite the postings of documents indexed by an
older analyser (see ``retrieval.reanalysis``)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from retrieval.reanalysis import reanalyse_stale, stale_documents
from retrieval.text import ANALYSER_VERSION


class Command(BaseCommand):
    help = (
        "Rewrite the search postings of ready documents indexed by an older text analyser "
        f"(today's is version {ANALYSER_VERSION}) from their stored passages; nothing is "
        "read, charged or embedded again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, help="at most this many documents")
        parser.add_argument("--check", action="store_true", help="count them only; change nothing")

    def handle(self, *args, **options) -> None:
        limit = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1")
        total = stale_documents().count()
        if options["check"]:
            self.stdout.write(f"{total} document(s) indexed by an older analyser")
            return
        if not total:
            return
        todo = min(total, limit) if limit is not None else total
        seen = 0

        def progress(document, rewritten: bool) -> None:
            nonlocal seen
            seen += 1
            state = "done" if rewritten else "skipped (no longer ready)"
            self.stdout.write(f"[{seen}/{todo}] {document.doc_id} {document.filename}: {state}")

        done = reanalyse_stale(limit=limit, progress=progress)
        self.stdout.write(f"{done} document(s) re-analysed, {stale_documents().count()} left")
