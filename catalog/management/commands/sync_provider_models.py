"""``manage.py sync_provider_models groq``: add the models an upstream lists but we lack."""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from catalog.models import Model, Provider
from catalog.provider_sync import SyncError, sync_provider_models


def price(value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a decimal amount: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative amount: {value!r}")
    return amount


class Command(BaseCommand):
    help = (
        "Fetch an OpenAI-compatible provider's GET /models list and add a disabled "
        "'{provider}/{upstream id}' model with a deployment for each model not yet "
        "deployed on it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("provider", help="the provider's name (slug)")
        parser.add_argument("--dry-run", action="store_true", help="report only; save nothing")
        parser.add_argument(
            "--enable", action="store_true", help="enable the new models (default: disabled)"
        )
        parser.add_argument(
            "--type",
            dest="model_type",
            choices=Model.Type.values,
            help="type of every new model (default: guessed; 'embed' in the id → embedding)",
        )
        parser.add_argument("--price-in", type=price, help="USD per 1M input tokens")
        parser.add_argument("--price-out", type=price, help="USD per 1M output tokens")

    def handle(self, *args, **options) -> None:
        name = options["provider"]
        provider = Provider.objects.filter(name=name).first()
        if provider is None:
            known = ", ".join(Provider.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"unknown provider {name!r} (known: {known})")
        try:
            report = sync_provider_models(
                provider,
                dry_run=options["dry_run"],
                enable=options["enable"],
                model_type=options["model_type"],
                input_price=options["price_in"],
                output_price=options["price_out"],
            )
        except SyncError as exc:
            raise CommandError(str(exc)) from None
        for line in report.lines():
            self.stdout.write(line)
