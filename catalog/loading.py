"""Loading a catalog file into the database.

A catalog file (see ``catalog.yaml`` and docs/catalog.md) is the source of truth for the
keys it names: loading it twice changes nothing, and loading an edited copy updates the
rows. Keys a file leaves out keep whatever value the row has (set in the admin, say).
Secrets never live in the file: it names the environment variables that hold them.
Parsing and checking the file itself (no database): ``catalog.catalog_file``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.db import transaction

from catalog.catalog_file import (
    CatalogError,
    CatalogSpec,
    DeploymentSpec,
    ModelSpec,
    ProviderSpec,
    env_value,
    read_catalog_file,
    url_problem,
    validate_catalog,
)
from catalog.load_report import Change, LoadReport, ProviderStatus
from catalog.models import Deployment, Model, Provider


def check_references(spec: CatalogSpec, environ: Mapping[str, str]) -> list[str]:
    """What only the database and the environment can tell: deployments may name
    providers and models from the file or the database; base URLs from the environment
    must be URLs."""
    errors = []
    for provider in spec.providers:
        url = env_value(environ, provider.base_url_env)
        problem = url_problem(url) if url else None
        if problem:
            errors.append(f"{provider.path}.base_url_env: {provider.base_url_env} {problem}")
    providers = {p.name for p in spec.providers}
    models = {m.public_id for m in spec.models}
    wanted_providers = {d.provider for d in spec.deployments} - providers
    wanted_models = {d.model_id for d in spec.deployments} - models
    providers |= set(
        Provider.objects.filter(name__in=wanted_providers).values_list("name", flat=True)
    )
    models |= set(
        Model.objects.filter(public_id__in=wanted_models).values_list("public_id", flat=True)
    )
    for d in spec.deployments:
        if d.provider and d.provider not in providers:
            errors.append(f"{d.path}.provider: unknown provider {d.provider!r}")
        if d.model_id and d.model_id not in models:
            errors.append(f"{d.path}.model: unknown model {d.model_id!r}")
    return errors


def _stored_key(provider: Provider) -> str | None:
    try:
        return provider.get_api_key()
    except ValueError:  # encrypted under an older secret: replace it
        return None


def _assign(instance: Any, values: Mapping[str, Any]) -> list[str]:
    changed = []
    for name, value in values.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed


class _Loader:
    def __init__(self, spec: CatalogSpec, environ: Mapping[str, str]) -> None:
        self.spec = spec
        self.environ = environ
        self.report = LoadReport()
        self.providers: dict[str, Provider] = {}
        self.models: dict[str, Model] = {}
        self.kept_deployments: set[int] = set()

    def save(self, kind: str, label: str, instance: Any, created: bool, changed: list[str]) -> None:
        if created:
            instance.save()
            self.report.changes.append(Change(kind, label, "created"))
        elif changed:
            instance.save(
                update_fields=[*changed, "updated_at"] if kind != "deployment" else changed
            )
            self.report.changes.append(Change(kind, label, "updated", tuple(changed)))
        else:
            self.report.unchanged += 1

    def provider_state(self, spec: ProviderSpec, provider: Provider) -> tuple[bool, str]:
        if not spec.enabled:
            return False, "enabled: false in the file"
        var = spec.enabled_if_env
        if var and not env_value(self.environ, var):
            # A value an admin typed in (or an earlier load stored) still counts.
            if var == spec.api_key_env and provider.has_api_key:
                return True, f"{var} is not set; using the API key already stored"
            if var == spec.base_url_env and provider.base_url and "base_url" not in spec.fields:
                return True, f"{var} is not set; using the stored base URL {provider.base_url}"
            return False, f"{var} is not set"
        if provider.kind != Provider.Kind.LOCAL and not provider.base_url:
            missing = f" ({spec.base_url_env} is not set)" if spec.base_url_env else ""
            return False, f"no base URL{missing}"
        if var:
            return True, f"{var} is set"
        if provider.kind == Provider.Kind.LOCAL:
            return True, "built in, always on"
        return True, "no condition"

    def load_provider(self, spec: ProviderSpec) -> None:
        provider = Provider.objects.filter(name=spec.name).first()
        created = provider is None
        if provider is None:
            provider = Provider(name=spec.name)
        values = dict(spec.fields)
        if url := env_value(self.environ, spec.base_url_env):
            values["base_url"] = url
        changed = _assign(provider, values)
        raw_key = env_value(self.environ, spec.api_key_env)
        if raw_key and _stored_key(provider) != raw_key:
            provider.set_api_key(raw_key)
            changed.append("api_key_encrypted")
        enabled, reason = self.provider_state(spec, provider)
        changed += _assign(provider, {"enabled": enabled})
        if enabled and spec.api_key_env and not provider.has_api_key:
            reason += f"; no API key ({spec.api_key_env} is not set)"
        self.save("provider", spec.name, provider, created, changed)
        self.providers[spec.name] = provider
        self.report.providers.append(ProviderStatus(spec.name, enabled, reason))

    def load_model(self, spec: ModelSpec) -> None:
        model = Model.objects.filter(public_id=spec.public_id).first()
        created = model is None
        values = {**spec.fields, "enabled": spec.enabled}
        if model is None:
            model = Model(public_id=spec.public_id)
            if "owned_by" not in values:
                first = next(
                    (d for d in self.spec.deployments if d.model_id == spec.public_id), None
                )
                values["owned_by"] = first.provider if first else ""
        changed = _assign(model, values)
        self.save("model", spec.public_id, model, created, changed)
        self.models[spec.public_id] = model

    def load_deployment(self, spec: DeploymentSpec) -> None:
        model = self.models.get(spec.model_id) or Model.objects.get(public_id=spec.model_id)
        provider = self.providers.get(spec.provider) or Provider.objects.get(name=spec.provider)
        deployment = Deployment.objects.filter(
            model=model, provider=provider, upstream_model=spec.upstream_model
        ).first()
        created = deployment is None
        if deployment is None:
            deployment = Deployment(
                model=model, provider=provider, upstream_model=spec.upstream_model
            )
        changed = _assign(deployment, {**spec.fields, "enabled": spec.enabled})
        label = f"{spec.model_id} → {spec.provider}/{spec.upstream_model}"
        self.save("deployment", label, deployment, created, changed)
        self.kept_deployments.add(deployment.pk)

    def prune(self) -> None:
        """Disable what this file's providers serve but the file no longer lists."""
        names = {p.name for p in self.spec.providers}
        stale = (
            Deployment.objects.filter(provider__name__in=names, enabled=True)
            .exclude(pk__in=self.kept_deployments)
            .select_related("model", "provider")
        )
        for deployment in stale:
            deployment.enabled = False
            deployment.save(update_fields=["enabled"])
            label = f"{deployment.model} → {deployment.provider}/{deployment.upstream_model}"
            self.report.changes.append(Change("deployment", label, "disabled"))
        listed = {m.public_id for m in self.spec.models} | {
            d.model_id for d in self.spec.deployments
        }
        candidates = (
            Model.objects.filter(enabled=True, deployments__provider__name__in=names)
            .exclude(public_id__in=listed)
            .distinct()
            .prefetch_related("deployments__provider")
        )
        for model in candidates:
            if all(d.provider.name in names for d in model.deployments.all()):
                model.enabled = False
                model.save(update_fields=["enabled", "updated_at"])
                self.report.changes.append(Change("model", model.public_id, "disabled"))

    def find_unroutable(self) -> None:
        routable = Deployment.objects.filter(enabled=True, provider__enabled=True)
        ids = [m.public_id for m in self.spec.models]
        self.report.unroutable = list(
            Model.objects.filter(public_id__in=ids, enabled=True)
            .exclude(pk__in=routable.values("model_id"))
            .values_list("public_id", flat=True)
        )

    def run(self, prune: bool) -> LoadReport:
        for provider in self.spec.providers:
            self.load_provider(provider)
        for model in self.spec.models:
            self.load_model(model)
        for deployment in self.spec.deployments:
            self.load_deployment(deployment)
        if prune:
            self.prune()
        self.find_unroutable()
        return self.report


def load_catalog(
    data: Any,
    *,
    environ: Mapping[str, str] = os.environ,
    prune: bool = False,
    dry_run: bool = False,
) -> LoadReport:
    """Create or update providers, models and deployments from a parsed catalog file.

    Idempotent, in one transaction. Raises ``CatalogError`` (every problem, each with
    its path in the file) before writing anything when the file is invalid.
    """
    spec, errors = validate_catalog(data)
    errors += check_references(spec, environ)
    if errors:
        raise CatalogError(errors)
    with transaction.atomic():
        report = _Loader(spec, environ).run(prune)
        report.dry_run = dry_run
        if dry_run:
            transaction.set_rollback(True)
    return report


def load_catalog_file(
    path: str | Path,
    *,
    environ: Mapping[str, str] = os.environ,
    prune: bool = False,
    dry_run: bool = False,
) -> LoadReport:
    return load_catalog(read_catalog_file(path), environ=environ, prune=prune, dry_run=dry_run)
