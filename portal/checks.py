"""System checks for what an operator configures (``manage.py check --deploy``).

A production deployment (DEBUG off) must say which host names it answers and use a
secret of its own; S3 storage needs a bucket and credentials. A missing ``SECRET_KEY``
with DEBUG off stops the settings from loading at all (``ground.env.env_secret``), so
``check`` names it before any of these run.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from portal.settings.base import DEVELOPMENT_SECRET_KEY

THIS_MACHINE = {"localhost", "127.0.0.1", "[::1]", "::1", "testserver"}
S3_BACKEND = "storages.backends.s3.S3Storage"
# Where boto3 finds credentials when none are configured: its own variables, a profile,
# or a role (web identity, container or instance metadata).
AWS_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


@register(Tags.security, deploy=True)
def check_production_secret_and_hosts(app_configs=None, **kwargs) -> list:
    if settings.DEBUG:
        return []
    problems = []
    secrets = {"SECRET_KEY": settings.SECRET_KEY, "API_KEY_SECRET": settings.API_KEY_SECRET}
    for name, value in secrets.items():
        if value == DEVELOPMENT_SECRET_KEY:
            problems.append(
                Error(
                    f"{name} is the development key published in Portico's source.",
                    hint=f"Set {name} to a long random value of this deployment's own.",
                    id="portal.E001",
                )
            )
    hosts = settings.ALLOWED_HOSTS
    if not hosts:
        problems.append(
            Error(
                "ALLOWED_HOSTS is empty: every request would be refused with a 400.",
                hint="Set ALLOWED_HOSTS to the host names Portico answers, e.g. "
                "ALLOWED_HOSTS=portico.example.com.",
                id="portal.E002",
            )
        )
    elif set(hosts) <= THIS_MACHINE:
        problems.append(
            Error(
                "ALLOWED_HOSTS names only this machine "
                f"({', '.join(hosts)}): requests to the public host name get a 400.",
                hint="Set ALLOWED_HOSTS to the host names Portico answers, e.g. "
                "ALLOWED_HOSTS=portico.example.com.",
                id="portal.E003",
            )
        )
    return problems


@register(Tags.files)
def check_s3_storage(app_configs=None, **kwargs) -> list:
    storage = settings.STORAGES.get("default", {})
    if storage.get("BACKEND") != S3_BACKEND:
        return []
    options = storage.get("OPTIONS") or {}
    if not options.get("bucket_name"):
        return [
            Error(
                "Uploaded files go to S3 but no bucket is named.",
                hint="Set STORAGE_BUCKET.",
                id="portal.E004",
            )
        ]
    access, secret = options.get("access_key"), options.get("secret_key")
    if bool(access) != bool(secret):
        present, missing = (
            ("STORAGE_ACCESS_KEY_ID", "STORAGE_SECRET_ACCESS_KEY")
            if access
            else ("STORAGE_SECRET_ACCESS_KEY", "STORAGE_ACCESS_KEY_ID")
        )
        return [
            Error(
                f"{present} is set but {missing} is not: S3 would refuse every upload.",
                hint=f"Set {missing} too (or neither, to use the machine's AWS role).",
                id="portal.E005",
            )
        ]
    if not access and not any(os.environ.get(name) for name in AWS_CREDENTIAL_VARIABLES):
        return [
            Warning(
                f"The S3 bucket {options['bucket_name']!r} has no credentials configured: "
                "uploads work only if this machine has an AWS role (instance metadata).",
                hint="Set STORAGE_ACCESS_KEY_ID and STORAGE_SECRET_ACCESS_KEY, or AWS_PROFILE.",
                id="portal.W001",
            )
        ]
    return []
