"""The catalog file format: read YAML, validate it, and turn it into specs.

Pure: nothing here touches the database. ``catalog.loading.load_catalog`` checks what only
the database knows (deployments naming providers and models loaded earlier) and writes.
See docs/catalog.md for the format.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from catalog.models import Model, Provider
from ground.money import LARGEST_AMOUNT, PLACES

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
MAX_SMALL_INT = 32767
MONEY_PLACES = PLACES


class CatalogError(ValueError):
    """A catalog file is malformed; ``errors`` lists every problem, each with its path."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


# --- Reading values ---------------------------------------------------------------------
class _Invalid(Exception):
    """One value is wrong; the caller adds the path."""


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"must be a string, got {value!r}")
    return value.strip()


def _required_text(value: Any) -> str:
    text = _text(value)
    if not text:
        raise _Invalid("must not be empty")
    return text


def _slug(value: Any) -> str:
    text = _required_text(value)
    if not SLUG.match(text):
        raise _Invalid(f"must be a slug (letters, digits, - and _), got {value!r}")
    return text


def _env_name(value: Any) -> str:
    text = _text(value)
    if not ENV_NAME.match(text):
        raise _Invalid(f"must be the NAME of an environment variable, got {value!r}")
    return text


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"must be true or false, got {value!r}")
    return value


def _integer(value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"must be a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _Invalid(f"must be {bounds}, got {value}")
    return value


def _token_count(value: Any) -> int | None:
    return None if value is None else _integer(value, 1, 2**31 - 1)


def _small_int(value: Any) -> int:
    return _integer(value, 0, MAX_SMALL_INT)


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _Invalid(f"must be a positive number of seconds, got {value!r}")
    return float(value)


def _money(value: Any) -> Decimal:
    """USD amounts: strings preferred ("0.59"); YAML numbers are read through ``str()``
    so 0.59 means exactly 0.59, never the nearest binary float."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Invalid(f'must be a decimal amount such as "0.59", got {value!r}')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise _Invalid(f'must be a decimal amount such as "0.59", got {value!r}') from None
    if not amount.is_finite() or amount < 0:
        raise _Invalid(f"must be a non-negative amount, got {value!r}")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MONEY_PLACES:
        raise _Invalid(f"has more than {MONEY_PLACES} decimal places: {value!r}")
    if amount > LARGEST_AMOUNT:
        raise _Invalid(f"is too large (at most {LARGEST_AMOUNT}): {value!r}")
    return amount


def _money_or_none(value: Any) -> Decimal | None:
    return None if value is None else _money(value)


def _url(value: Any) -> str:
    text = _text(value)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _Invalid(f"must be an http(s) URL such as https://api.example.com/v1, got {value!r}")
    return text


def _headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _Invalid("must be a mapping of header names to string values")
    return dict(value)


def _choice(choices: list[str]) -> Callable[[Any], str]:
    def read(value: Any) -> str:
        if value not in choices:
            raise _Invalid(f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    return read


# File key -> (model field, reader). Keys a file omits leave the row's value alone.
Reader = Callable[[Any], Any]
PROVIDER_FIELDS: dict[str, tuple[str, Reader]] = {
    "label": ("label", _text),
    "kind": ("kind", _choice(Provider.Kind.values)),
    "base_url": ("base_url", _url),
    "extra_headers": ("extra_headers", _headers),
    "connect_timeout": ("connect_timeout", _seconds),
    "first_byte_timeout": ("first_byte_timeout", _seconds),
    "total_timeout": ("total_timeout", _seconds),
}
PROVIDER_KEYS = {"name", "base_url_env", "api_key_env", "enabled_if_env", "enabled"}
MODEL_FIELDS: dict[str, tuple[str, Reader]] = {
    "type": ("type", _choice(Model.Type.values)),
    "name": ("name", _text),
    "description": ("description", _text),
    "owned_by": ("owned_by", _text),
    "context_window": ("context_window", _token_count),
    "max_output_tokens": ("max_output_tokens", _token_count),
}
MODEL_KEYS = {"id", "pricing", "enabled", "deployments"}
PRICING_FIELDS: dict[str, tuple[str, Reader]] = {
    "input_per_1m": ("input_price_per_1m", _money),
    "output_per_1m": ("output_price_per_1m", _money),
    "cached_input_per_1m": ("cached_input_price_per_1m", _money_or_none),
    "unit_price": ("unit_price", _money),  # per OCR page / retrieval query
}
DEPLOYMENT_FIELDS: dict[str, tuple[str, Reader]] = {
    "priority": ("priority", _small_int),
    "weight": ("weight", _small_int),
}
DEPLOYMENT_KEYS = {"provider", "upstream_model", "enabled"}
TOP_LEVEL_KEYS = {"providers", "models", "deployments"}


# --- Parsing a file into specs ------------------------------------------------------------
@dataclass
class ProviderSpec:
    path: str
    name: str
    fields: dict[str, Any]
    base_url_env: str | None = None
    api_key_env: str | None = None
    enabled_if_env: str | None = None
    enabled: bool = True


@dataclass
class ModelSpec:
    path: str
    public_id: str
    fields: dict[str, Any]
    enabled: bool = True


@dataclass
class DeploymentSpec:
    path: str
    model_id: str
    provider: str
    upstream_model: str
    fields: dict[str, Any]
    enabled: bool = True


@dataclass
class CatalogSpec:
    providers: list[ProviderSpec] = field(default_factory=list)
    models: list[ModelSpec] = field(default_factory=list)
    deployments: list[DeploymentSpec] = field(default_factory=list)


class _Parser:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def mapping(self, item: Any, path: str, allowed: set[str], required: tuple[str, ...]) -> bool:
        if not isinstance(item, dict):
            self.error(path, f"must be a mapping, got {item!r}")
            return False
        for key in item:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                if key == "api_key":
                    extra = " (literal keys are not allowed: name a variable with api_key_env)"
                self.error(path, f"unknown key {key!r}{extra}")
        ok = True
        for key in required:
            if item.get(key) is None:
                self.error(path, f"missing required key {key!r}")
                ok = False
        return ok

    def read(self, item: dict, key: str, reader: Reader, path: str, default: Any = None) -> Any:
        if key not in item:
            return default
        try:
            return reader(item[key])
        except _Invalid as exc:
            self.error(f"{path}.{key}", str(exc))
            return default

    def fields(self, item: dict, table: dict[str, tuple[str, Reader]], path: str) -> dict:
        values = {}
        for key, (model_field, reader) in table.items():
            if key in item:
                try:
                    values[model_field] = reader(item[key])
                except _Invalid as exc:
                    self.error(f"{path}.{key}", str(exc))
        return values

    def items(self, data: dict, key: str) -> list[tuple[str, Any]]:
        value = data.get(key) or []
        if not isinstance(value, list):
            self.error(key, "must be a list")
            return []
        return [(f"{key}[{i}]", item) for i, item in enumerate(value)]

    def provider(self, item: Any, path: str) -> ProviderSpec | None:
        allowed = PROVIDER_KEYS | PROVIDER_FIELDS.keys()
        if not self.mapping(item, path, allowed, ("name", "kind")):
            return None
        spec = ProviderSpec(
            path=path,
            name=self.read(item, "name", _slug, path, ""),
            fields=self.fields(item, PROVIDER_FIELDS, path),
            base_url_env=self.read(item, "base_url_env", _env_name, path),
            api_key_env=self.read(item, "api_key_env", _env_name, path),
            enabled_if_env=self.read(item, "enabled_if_env", _env_name, path),
            enabled=self.read(item, "enabled", _boolean, path, True),
        )
        remote = spec.fields.get("kind", Provider.Kind.LOCAL) != Provider.Kind.LOCAL
        if remote and "base_url" not in item and not spec.base_url_env:
            self.error(path, "needs base_url or base_url_env")
        return spec

    def deployment(self, item: Any, path: str, model_id: str | None) -> DeploymentSpec | None:
        allowed = (
            DEPLOYMENT_KEYS | DEPLOYMENT_FIELDS.keys() | ({"model"} if not model_id else set())
        )
        required = ("provider", "upstream_model") + (("model",) if not model_id else ())
        if not self.mapping(item, path, allowed, required):
            return None
        return DeploymentSpec(
            path=path,
            model_id=model_id or self.read(item, "model", _required_text, path, ""),
            provider=self.read(item, "provider", _slug, path, ""),
            upstream_model=self.read(item, "upstream_model", _required_text, path, ""),
            fields=self.fields(item, DEPLOYMENT_FIELDS, path),
            enabled=self.read(item, "enabled", _boolean, path, True),
        )

    def model(self, item: Any, path: str, spec: CatalogSpec) -> None:
        allowed = MODEL_KEYS | MODEL_FIELDS.keys()
        if not self.mapping(item, path, allowed, ("id", "type")):
            return
        public_id = self.read(item, "id", _required_text, path, "")
        values = self.fields(item, MODEL_FIELDS, path)
        pricing = item.get("pricing")
        if pricing is not None and self.mapping(
            pricing, f"{path}.pricing", set(PRICING_FIELDS), ()
        ):
            values |= self.fields(pricing, PRICING_FIELDS, f"{path}.pricing")
        enabled = self.read(item, "enabled", _boolean, path, True)
        spec.models.append(ModelSpec(path, public_id, values, enabled))
        deployments = item.get("deployments") or []
        if not isinstance(deployments, list):
            self.error(f"{path}.deployments", "must be a list")
            return
        for i, entry in enumerate(deployments):
            deployment = self.deployment(entry, f"{path}.deployments[{i}]", public_id)
            if deployment:
                spec.deployments.append(deployment)

    def parse(self, data: Any) -> CatalogSpec:
        spec = CatalogSpec()
        if not isinstance(data, dict):
            self.error("(file)", "must be a mapping with providers, models and deployments")
            return spec
        if not self.mapping(data, "(file)", TOP_LEVEL_KEYS, ()):
            return spec
        for path, item in self.items(data, "providers"):
            if provider := self.provider(item, path):
                spec.providers.append(provider)
        for path, item in self.items(data, "models"):
            self.model(item, path, spec)
        for path, item in self.items(data, "deployments"):
            if deployment := self.deployment(item, path, None):
                spec.deployments.append(deployment)
        self.duplicates(spec)
        return spec

    def duplicates(self, spec: CatalogSpec) -> None:
        seen: dict[Any, str] = {}
        keyed = [(("provider", p.name), p.path) for p in spec.providers]
        keyed += [(("model", m.public_id), m.path) for m in spec.models]
        keyed += [
            (("deployment", d.model_id, d.provider, d.upstream_model), d.path)
            for d in spec.deployments
        ]
        for key, path in keyed:
            if key in seen:
                self.error(path, f"duplicate {key[0]} {'/'.join(key[1:])} (first at {seen[key]})")
            seen.setdefault(key, path)


def validate_catalog(data: Any) -> tuple[CatalogSpec, list[str]]:
    """The specs a parsed catalog file describes, and every problem found in it."""
    parser = _Parser()
    spec = parser.parse(data)
    return spec, parser.errors


def parse_catalog(data: Any) -> CatalogSpec:
    """Validate a parsed catalog file; ``CatalogError`` lists every problem."""
    spec, errors = validate_catalog(data)
    if errors:
        raise CatalogError(errors)
    return spec


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that rejects a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        keys = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict):
                continue  # unhashable: SafeLoader reports it
            if key in keys:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            keys.add(key)
        return super().construct_mapping(node, deep=deep)


def read_catalog_file(path: str | Path) -> Any:
    """Parse a YAML catalog file; ``CatalogError`` for a missing file or bad YAML."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: safe
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise CatalogError([f"{where}: invalid YAML: {exc.problem or exc}"]) from None
    except yaml.YAMLError as exc:
        raise CatalogError([f"{path}: invalid YAML: {exc}"]) from None
    if data is None:
        raise CatalogError([f"{path}: the file is empty"])
    return data


def env_value(environ: Mapping[str, str], name: str | None) -> str:
    """The stripped value of ``name`` in ``environ``; "" when unset or unnamed."""
    return (environ.get(name) or "").strip() if name else ""


def url_problem(value: str) -> str | None:
    """Why ``value`` is not an http(s) URL, or None."""
    try:
        _url(value)
    except _Invalid as exc:
        return str(exc)
    return None
