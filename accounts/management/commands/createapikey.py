"""Mint an API key for a user: ``manage.py createapikey --user EMAIL [--scopes …] [--models …] [--rpm N] [--json]``,
or an admin key for the Admin API: ``--admin --user EMAIL [--organization org-…]`` (the user
must own the organization; their personal one by default)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from accounts.key_rules import KeyError_
from accounts.keys import issue_key
from accounts.models import Organization, User
from accounts.org_keys import mint_admin_key
from accounts.org_rules import Actor, OrgError
from accounts.organizations import personal_organization


def csv_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [item.strip() for item in value.replace(" ", ",").split(",") if item.strip()]


class Command(BaseCommand):
    help = "Create an API key for a user and print it (shown once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", required=True, help="the owner's e-mail")
        parser.add_argument("--name", default="cli", help="a label for the key")
        parser.add_argument("--scopes", help="comma-separated; default all")
        parser.add_argument("--models", help="comma-separated model allowlist; default all")
        parser.add_argument("--rpm", type=int, help="requests per minute")
        parser.add_argument("--tpm", type=int, help="tokens per minute")
        parser.add_argument("--rpd", type=int, help="requests per day")
        parser.add_argument("--ip", help="comma-separated CIDR allowlist")
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument(
            "--admin", action="store_true", help="an admin key (OpenAI's Admin API) instead"
        )
        parser.add_argument(
            "--organization", help="with --admin: the organization's id (default: personal)"
        )

    def handle(self, *args, **options) -> None:
        user = User.objects.filter(email__iexact=options["user"]).first()
        if user is None:
            raise CommandError(f"No user with e-mail {options['user']!r}.")
        if options["admin"]:
            self.admin_key(user, options)
            return
        try:
            issued = issue_key(
                user,
                options["name"],
                scopes=csv_list(options["scopes"]),
                models=csv_list(options["models"]),
                rpm=options["rpm"],
                tpm=options["tpm"],
                rpd=options["rpd"],
                ip_allowlist=csv_list(options["ip"]),
            )
        except KeyError_ as exc:
            raise CommandError(str(exc)) from None
        key = issued.key
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "id": key.pk,
                        "key": issued.secret,
                        "prefix": key.prefix,
                        "name": key.name,
                        "user": user.email,
                        "scopes": key.scopes,
                        "models": key.allowed_models,
                        "rpm": key.rpm_limit,
                        "tpm": key.tpm_limit,
                        "rpd": key.rpd_limit,
                    }
                )
            )
        else:
            self.stdout.write(issued.secret)

    def admin_key(self, user: User, options: dict) -> None:
        chosen = options["organization"]
        organization = (
            Organization.objects.filter(public_id=chosen).first()
            if chosen
            else personal_organization(user)
        )
        if organization is None:
            raise CommandError(f"No organization with id {chosen!r}.")
        try:
            issued = mint_admin_key(Actor(user=user), organization, options["name"])
        except OrgError as exc:
            raise CommandError(exc.message) from None
        key = issued.key
        if options["json"]:
            payload = {
                "id": f"key_{key.pk}",
                "key": issued.secret,
                "prefix": key.prefix,
                "name": key.name,
                "user": user.email,
                "organization": organization.public_id,
                "kind": key.kind,
            }
            self.stdout.write(json.dumps(payload))
        else:
            self.stdout.write(issued.secret)
