"""``manage.py load_catalog catalog.yaml``: create or update the catalog from a file."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from catalog.catalog_file import CatalogError, read_catalog_file
from catalog.loading import load_catalog


class Command(BaseCommand):
    help = (
        "Load providers, models and deployments from a YAML catalog file (idempotent). "
        "API keys and conditional base URLs come from the environment variables the "
        "file names."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="path to the catalog file, e.g. catalog.yaml")
        parser.add_argument(
            "--prune",
            action="store_true",
            help="disable models and deployments of the file's providers that the file "
            "no longer lists",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would change; save nothing"
        )

    def handle(self, *args, **options) -> None:
        try:
            data = read_catalog_file(options["file"])
            report = load_catalog(data, prune=options["prune"], dry_run=options["dry_run"])
        except CatalogError as exc:
            problems = "\n".join(f"  {line}" for line in exc.errors)
            raise CommandError(f"{options['file']} is not a valid catalog:\n{problems}") from None
        for line in report.lines(verbose=options["verbosity"] >= 2):
            self.stdout.write(line)
