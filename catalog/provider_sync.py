"""Importing a provider's model list: a disabled, zero-priced model and a deployment for
every upstream model the provider does not serve yet (``manage.py sync_provider_models``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from django.db import transaction

from catalog.models import Deployment, Model, Provider


class SyncError(RuntimeError):
    """A provider's model list could not be fetched or used."""


@dataclass
class SyncReport:
    provider: str
    dry_run: bool = False
    added: list[tuple[str, str]] = field(default_factory=list)  # (public id, upstream id)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (upstream id, why)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        verb = "Would add" if self.dry_run else "Added"
        lines = [f"{verb}: {public_id} → {self.provider}/{up}" for public_id, up in self.added]
        lines += [f"Skipped {up}: {why}" for up, why in self.skipped]
        lines += [f"Warning: {w}" for w in self.warnings]
        lines.append(
            f"{self.provider}: {len(self.added)} {verb.lower()}, {len(self.skipped)} skipped."
            + (" Dry run: nothing was saved." if self.dry_run else "")
        )
        return lines


def fetch_upstream_models(provider: Provider) -> list[dict[str, Any]]:
    """``GET {base_url}/models`` with the provider's key; the entries of ``data``."""
    if provider.kind != Provider.Kind.OPENAI:
        raise SyncError(
            f"provider {provider.name!r} is {provider.get_kind_display()!r}; only "
            "OpenAI-compatible providers have a /models list to sync"
        )
    if not provider.base_url:
        raise SyncError(f"provider {provider.name!r} has no base URL")
    try:
        key = provider.get_api_key()
    except ValueError as exc:
        raise SyncError(f"provider {provider.name!r}: stored API key: {exc}") from None
    headers = {str(k): str(v) for k, v in (provider.extra_headers or {}).items()}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    url = provider.base_url.rstrip("/") + "/models"
    timeout = httpx.Timeout(provider.first_byte_timeout, connect=provider.connect_timeout)
    try:
        response = httpx.get(url, headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        raise SyncError(f"GET {url} timed out") from None
    except httpx.HTTPError as exc:
        raise SyncError(f"cannot reach {url}: {exc}") from None
    if response.status_code >= 400:
        snippet = " ".join(response.text.split())[:300]
        raise SyncError(f"GET {url} answered {response.status_code}: {snippet}")
    try:
        body = response.json()
    except ValueError:
        raise SyncError(f"GET {url} did not answer JSON") from None
    entries = body.get("data") if isinstance(body, dict) else body
    if not isinstance(entries, list):
        raise SyncError(f"GET {url}: expected {{'data': [...]}}, got {str(body)[:200]}")
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str) and e["id"]]


def _guess_type(entry: dict[str, Any]) -> str:
    if entry.get("type") in Model.Type.values:
        return entry["type"]
    return Model.Type.EMBEDDING if "embed" in entry["id"].lower() else Model.Type.LLM


def sync_provider_models(
    provider: Provider,
    *,
    dry_run: bool = False,
    enable: bool = False,
    model_type: str | None = None,
    input_price: Decimal | None = None,
    output_price: Decimal | None = None,
) -> SyncReport:
    """Add a ``{provider}/{upstream id}`` model and a deployment for every upstream model
    the provider does not serve yet. New models are disabled unless ``enable``: their
    prices (zero unless given) need an admin's review first."""
    if model_type is not None and model_type not in Model.Type.values:
        raise SyncError(f"unknown model type {model_type!r}")
    entries = fetch_upstream_models(provider)
    report = SyncReport(provider=provider.name, dry_run=dry_run)
    deployed: dict[str, list[str]] = {}
    for upstream, public_id in provider.deployments.values_list(
        "upstream_model", "model__public_id"
    ):
        deployed.setdefault(upstream, []).append(public_id)
    max_id = Model._meta.get_field("public_id").max_length
    with transaction.atomic():
        for entry in sorted(entries, key=lambda e: e["id"]):
            upstream = entry["id"]
            public_id = f"{provider.name}/{upstream}"
            if upstream in deployed:
                report.skipped.append(
                    (upstream, f"already deployed as {', '.join(deployed[upstream])}")
                )
                continue
            if len(public_id) > max_id:
                report.skipped.append((upstream, f"public id longer than {max_id} characters"))
                continue
            deployed[upstream] = [public_id]
            report.added.append((public_id, upstream))
            if dry_run:
                continue
            model = Model.objects.filter(public_id=public_id).first()
            if model is None:
                context = entry.get("context_window")
                model = Model.objects.create(
                    public_id=public_id,
                    type=model_type or _guess_type(entry),
                    name=upstream,
                    description=f"Imported from {provider.display_name}; review the price.",
                    owned_by=str(entry.get("owned_by") or provider.name)[:100],
                    context_window=context if isinstance(context, int) and context > 0 else None,
                    input_price_per_1m=input_price or Decimal(0),
                    output_price_per_1m=output_price or Decimal(0),
                    enabled=enable,
                )
            Deployment.objects.create(model=model, provider=provider, upstream_model=upstream)
    if report.added and enable and not (input_price or output_price):
        report.warnings.append("models were enabled with a zero price: requests to them are free")
    if report.added and not enable:
        report.warnings.append(
            "new models are disabled: set their prices and enable them in the admin"
        )
    return report
