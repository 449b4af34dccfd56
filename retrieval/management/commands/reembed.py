"""``manage.py reembed``: give a collection's documents (or every collection's) vectors
of an embedding model again, in this process, with progress.

Examples::

    manage.py reembed --collection 3f2a…           # the configured model
    manage.py reembed --all --model acme/embed-2   # before switching the setting to it
    manage.py reembed --all --unfinished           # documents left pending or failed

Each document's old vectors go first (a query never mixes two models' vectors); the
document stays found lexically meanwhile. Queries use a model's vectors once
``RETRIEVAL_EMBEDDING_MODEL`` names it. The embedding is charged to each collection's
owner, like the vectors made at ingest.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from catalog.models import Model
from retrieval import dense
from retrieval.embedding_jobs import FAILED, PENDING, embed_document, prepare_reembedding
from retrieval.models import Document


class Command(BaseCommand):
    help = "Embed the passages of a collection (or all) again, with progress."

    def add_arguments(self, parser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--collection", help="the collection_id")
        which.add_argument("--all", action="store_true", help="every collection")
        parser.add_argument("--model", help="catalog embedding model (default: the configured)")
        parser.add_argument(
            "--unfinished",
            action="store_true",
            help="only documents whose vectors are pending or failed (resume)",
        )

    def handle(self, *args, collection=None, all=False, model=None, unfinished=False, **kw):
        model = model or dense.configured_model()
        if not model:
            raise CommandError("No embedding model: name one with --model.")
        if not Model.objects.filter(public_id=model, type="embedding", enabled=True).exists():
            raise CommandError(f"{model!r} is not an enabled embedding model of the catalog.")
        documents = Document.objects.filter(status=Document.Status.READY).order_by("pk")
        if collection:
            documents = documents.filter(collection__collection_id=collection)
        if unfinished:
            documents = documents.filter(dense_status__in=[PENDING, FAILED, ""])
        pks = list(documents.values_list("pk", flat=True))
        self.stdout.write(f"{len(pks)} documents to embed with {model}")
        counts = {}
        for number, pk in enumerate(pks, 1):
            prepare_reembedding(pk, model, keep=unfinished)

            def progress(done: int, total: int, number=number) -> None:
                self.stdout.write(f"  document {number}/{len(pks)}: {done}/{total} passages")

            status = embed_document(pk, progress) or "skipped"
            counts[status] = counts.get(status, 0) + 1
            self.stdout.write(f"document {number}/{len(pks)}: {status}")
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        self.stdout.write(self.style.SUCCESS(f"Done: {summary or 'nothing to do'}."))
