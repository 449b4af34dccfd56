"""``manage.py wallet balance EMAIL`` · ``wallet credit EMAIL AMOUNT --reason … [--note …]`` ·
``wallet debit EMAIL AMOUNT --reason …``: an operator's view of and hand on a wallet.

``--reason`` is the staff-only note; ``--note`` is what the owner reads in their ledger."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from billing.credits import admin_adjust
from billing.errors import BillingError
from billing.wallets import current_organization_id, wallet_summary
from ground.money import LARGEST_AMOUNT, exact_usd, format_usd


def positive_amount(raw: str) -> Decimal:
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise CommandError(f"{raw!r} is not an amount in USD (e.g. 12.50).") from None
    if not amount.is_finite() or amount <= 0:
        raise CommandError(f"The amount must be a positive number of USD, got {raw!r}.")
    if amount != amount.quantize(Decimal("1e-10")):
        raise CommandError("Amounts have at most 10 decimal places.")
    if amount > LARGEST_AMOUNT:
        raise CommandError(f"The amount may be at most {format_usd(LARGEST_AMOUNT)}.")
    return amount


class Command(BaseCommand):
    help = "Show a user's (personal organization's) wallet, or credit or debit it with a reason (recorded in the ledger)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        balance = actions.add_parser("balance", help="balance, held and available funds")
        balance.add_argument("email")
        balance.add_argument("--json", action="store_true", help="print JSON like GET /v1/wallet")
        for name, text in (("credit", "add funds"), ("debit", "deduct funds (at most available)")):
            sub = actions.add_parser(name, help=text)
            sub.add_argument("email")
            sub.add_argument("amount", help="USD, e.g. 12.50")
            sub.add_argument(
                "--reason", required=True, help="why (a staff note; the user never sees it)"
            )
            sub.add_argument("--note", default="", help="shown to the user in their ledger")

    def handle(self, *args, **options) -> None:
        user = User.objects.filter(email__iexact=options["email"]).first()
        if user is None:
            raise CommandError(f"No user with e-mail {options['email']!r}.")
        if options["action"] == "balance":
            self.print_summary(user, as_json=options["json"])
            return
        amount = positive_amount(options["amount"])
        signed = amount if options["action"] == "credit" else -amount
        try:
            posted = admin_adjust(
                current_organization_id(user),
                signed,
                reason=options["reason"],
                note=options["note"],
                actor=None,
            )
        except BillingError as exc:
            raise CommandError(exc.message) from None
        verb = "Credited" if signed > 0 else "Debited"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {exact_usd(amount)} {'to' if signed > 0 else 'from'} {user.email} "
                f"(ledger entry {posted.entry.pk})."
            )
        )
        self.print_summary(user, as_json=False)

    def print_summary(self, user: User, *, as_json: bool) -> None:
        summary = wallet_summary(current_organization_id(user))
        del summary["project"]  # a key's; the command names no key
        if as_json:
            self.stdout.write(json.dumps(summary))
            return
        width = max(len(name) for name in summary)
        for name, value in summary.items():
            self.stdout.write(f"{name:<{width}}  {value}")
