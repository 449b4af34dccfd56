"""Server-wide mutable state: behaviour knobs, fault counters, tally, request log.

All of it lives on the server's event loop and is only touched from there, so no locks.
"""

from __future__ import annotations

import copy
import itertools
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

DEFAULT_MODELS: tuple[str, ...] = ("fake-llm", "fake-llm-2", "fake-embed")

# Knobs that can be set globally, per model (``per_model``) and per request (headers).
KNOB_DEFAULTS: dict[str, Any] = {
    "latency_ms": 0.0,
    "token_interval_ms": 0.0,
    "completion_tokens": 16,
    "embedding_dims": 256,
    "fail_status": None,
    "fail_count": -1,
    "fail_body": None,
    "fail_headers": None,
    "hang": False,
    "hang_ms": 0.0,
    "drop_stream_after": None,
    "extra_prompt_tokens": 0,
    "api_key": None,
    "completion_text": None,
    "tool_calls": "forced",
    "tool_arguments": None,
}
ALIASES = {"ttft_ms": "latency_ms"}
GLOBAL_ONLY = ("models", "strict_models")
# When a chat request offers tools: call one only when ``tool_choice`` forces it
# ("required" or a named function), whenever no tool result came back yet, every time
# (a model that keeps searching), or never.
TOOL_CALL_MODES = ("forced", "auto", "always", "never")


class ConfigError(ValueError):
    """An invalid control-API payload or ``x-fake-*`` header."""


# --- value coercion (JSON values, or strings from headers) --------------------------------


def _float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{name} must be a number")
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number") from None


def _number(value: Any, name: str) -> float:
    number = _float(value, name)
    if number < 0:
        raise ConfigError(f"{name} must be >= 0")
    return number


def _integer(value: Any, name: str, minimum: int = 0) -> int:
    number = _float(value, name)
    if not number.is_integer():
        raise ConfigError(f"{name} must be an integer")
    if number < minimum:
        raise ConfigError(f"{name} must be >= {minimum}")
    return int(number)


def _optional(inner: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    def coerce(value: Any, name: str) -> Any:
        if value is None or (isinstance(value, str) and value.lower() in ("", "none", "null")):
            return None
        return inner(value, name)

    return coerce


def _status(value: Any, name: str) -> int:
    status = _integer(value, name)
    if not 100 <= status <= 599:
        raise ConfigError(f"{name} must be an HTTP status code")
    return status


def _boolean(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in (
        "1",
        "true",
        "yes",
        "on",
        "0",
        "false",
        "no",
        "off",
    ):
        return value.lower() in ("1", "true", "yes", "on")
    raise ConfigError(f"{name} must be a boolean")


def _headers(value: Any, name: str) -> dict[str, str]:
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise ConfigError(f"{name} must be an object of strings") from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{name} must be an object of strings")
    return {str(k).lower(): v for k, v in value.items()}


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string")
    return value


def _tool_calls(value: Any, name: str) -> str:
    if value not in TOOL_CALL_MODES:
        raise ConfigError(f"{name} must be one of {', '.join(TOOL_CALL_MODES)}")
    return value


def _object(value: Any, name: str) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise ConfigError(f"{name} must be a JSON object") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a JSON object")
    return value


def _models(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(m, str) and m for m in value):
        raise ConfigError(f"{name} must be a list of model ids")
    return list(value)


COERCERS: dict[str, Callable[[Any, str], Any]] = {
    "latency_ms": _number,
    "token_interval_ms": _number,
    "completion_tokens": _integer,
    "embedding_dims": lambda v, n: _integer(v, n, minimum=1),
    "fail_status": _optional(_status),
    "fail_count": lambda v, n: _integer(v, n, minimum=-1),
    "fail_body": lambda v, n: v,
    "fail_headers": _optional(_headers),
    "hang": _boolean,
    "hang_ms": _number,
    "drop_stream_after": _optional(_integer),
    "extra_prompt_tokens": _integer,
    "api_key": _optional(_text),
    "completion_text": _optional(_text),
    "tool_calls": _tool_calls,
    "tool_arguments": _optional(_object),
    "models": _models,
    "strict_models": _boolean,
}


def coerce_knobs(data: Mapping[str, Any], *, allow_global: bool) -> dict[str, Any]:
    """Validate a partial knob mapping; resolves aliases.

    Setting ``fail_status`` without ``fail_count`` re-arms the counter to ``-1`` (always).
    """
    out: dict[str, Any] = {}
    for raw_name, value in data.items():
        name = ALIASES.get(raw_name, raw_name)
        if name not in COERCERS or (name in GLOBAL_ONLY and not allow_global):
            raise ConfigError(f"unknown setting {raw_name!r}")
        out[name] = COERCERS[name](value, raw_name)
    if "fail_status" in out and "fail_count" not in out:
        out["fail_count"] = -1
    return out


# --- configuration -----------------------------------------------------------------------


@dataclass(slots=True)
class Failure:
    status: int
    body: Any
    headers: dict[str, str]


class Config:
    """Global knobs, per-model overrides and fault counters."""

    def __init__(self, initial: Mapping[str, Any] | None = None) -> None:
        self.knobs: dict[str, Any] = dict(KNOB_DEFAULTS)
        self.models: list[str] = list(DEFAULT_MODELS)
        self.strict_models = False
        self.per_model: dict[str, dict[str, Any]] = {}
        if initial:
            self.update(initial)

    def update(self, data: Mapping[str, Any]) -> None:
        """Merge a control-API payload. Validates everything before applying anything."""
        data = dict(data)
        per_model_raw = data.pop("per_model", None) or {}
        if not isinstance(per_model_raw, dict):
            raise ConfigError("per_model must be an object")
        top = coerce_knobs(data, allow_global=True)
        per_model: dict[str, dict[str, Any] | None] = {}
        for model, overrides in per_model_raw.items():
            if overrides is not None and not isinstance(overrides, dict):
                raise ConfigError(f"per_model[{model!r}] must be an object or null")
            per_model[model] = (
                None if overrides is None else coerce_knobs(overrides, allow_global=False)
            )
        self.models = top.pop("models", self.models)
        self.strict_models = top.pop("strict_models", self.strict_models)
        self.knobs.update(top)
        for model, overrides in per_model.items():
            if overrides is None:
                self.per_model.pop(model, None)
            else:
                self.per_model.setdefault(model, {}).update(overrides)

    def resolve(self, model: str | None) -> dict[str, Any]:
        """Effective knobs for a request to ``model`` (per-model keys shadow global ones)."""
        overrides = self.per_model.get(model) if model is not None else None
        return {**self.knobs, **overrides} if overrides else self.knobs

    def take_failure(self, model: str | None) -> Failure | None:
        """Consume one injected failure for ``model``, if any is armed."""
        owner = self.knobs
        overrides = self.per_model.get(model) if model is not None else None
        if overrides and "fail_status" in overrides:
            owner = overrides
        status = owner.get("fail_status")
        count = owner.get("fail_count", -1)
        if status is None or count == 0:
            return None
        if count > 0:
            owner["fail_count"] = count - 1
        return Failure(status, owner.get("fail_body"), owner.get("fail_headers") or {})

    def as_json(self) -> dict[str, Any]:
        return {
            **self.knobs,
            "models": self.models,
            "strict_models": self.strict_models,
            "per_model": copy.deepcopy(self.per_model),
        }


# --- tally and request log ---------------------------------------------------------------


@dataclass(slots=True)
class ModelTally:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(slots=True)
class Tally:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cancelled: int = 0
    failed: int = 0
    dropped: int = 0
    by_model: dict[str, ModelTally] = field(default_factory=dict)

    def model(self, name: str) -> ModelTally:
        entry = self.by_model.get(name)
        if entry is None:
            entry = self.by_model[name] = ModelTally()
        return entry

    def request(self, model: str | None) -> None:
        self.requests += 1
        if model is not None:
            self.model(model).requests += 1

    def prompt(self, model: str | None, tokens: int) -> None:
        self.prompt_tokens += tokens
        if model is not None:
            self.model(model).prompt_tokens += tokens

    def completion(self, model: str | None, tokens: int) -> None:
        self.completion_tokens += tokens
        if model is not None:
            self.model(model).completion_tokens += tokens

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cancelled": self.cancelled,
            "failed": self.failed,
            "dropped": self.dropped,
            "by_model": {
                name: {
                    "requests": m.requests,
                    "prompt_tokens": m.prompt_tokens,
                    "completion_tokens": m.completion_tokens,
                }
                for name, m in self.by_model.items()
            },
        }


@dataclass(slots=True)
class RecordedRequest:
    """Raw request data; decoded only when asked for, to keep the hot path cheap."""

    method: str
    path: str
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    at: float

    def as_json(self) -> dict[str, Any]:
        headers: dict[str, str] = {}
        for name, value in self.headers:
            key, text = name.decode("latin-1").lower(), value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        body: Any = None
        if self.body:
            try:
                body = orjson.loads(self.body)
            except orjson.JSONDecodeError:
                body = self.body.decode("utf-8", "replace")
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query.decode("latin-1"),
            "headers": headers,
            "body": body,
            "at": self.at,
        }


class State:
    """Everything a server process shares between requests."""

    def __init__(self, initial: Mapping[str, Any] | None = None, log_size: int = 100) -> None:
        self.initial = dict(initial or {})
        self.config = Config(self.initial)
        self.tally = Tally()
        self.log: deque[RecordedRequest] = deque(maxlen=log_size)
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)

    def record(self, scope: Mapping[str, Any], body: bytes) -> None:
        self.log.append(
            RecordedRequest(
                scope["method"],
                scope["path"],
                scope.get("query_string", b""),
                list(scope["headers"]),
                body,
                time.time(),
            )
        )

    def reset(self) -> None:
        self.config = Config(self.initial)
        self.reset_tally()

    def reset_tally(self) -> None:
        self.tally = Tally()
        self.log.clear()
