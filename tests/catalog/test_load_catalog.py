"""Loading a catalog file: idempotent, env-driven, strict about its input."""

from __future__ import annotations

import copy
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.catalog_file import CatalogError, read_catalog_file
from catalog.loading import load_catalog
from catalog.models import Deployment, Model, Provider

pytestmark = pytest.mark.django_db

CATALOG = {
    "providers": [
        {"name": "local", "label": "Built in", "kind": "local"},
        {
            "name": "groq",
            "label": "Groq",
            "kind": "openai",
            "base_url": "https://api.groq.com/openai/v1",
            "api_key_env": "GROQ_API_KEY",
            "enabled_if_env": "GROQ_API_KEY",
        },
        {
            "name": "ollama",
            "kind": "openai",
            "base_url_env": "OLLAMA_BASE_URL",
            "enabled_if_env": "OLLAMA_BASE_URL",
        },
    ],
    "models": [
        {
            "id": "llama-3.3-70b",
            "type": "llm",
            "name": "Llama 3.3 70B",
            "context_window": 131072,
            "max_output_tokens": 32768,
            "pricing": {"input_per_1m": "0.59", "output_per_1m": "0.79"},
            "deployments": [
                {"provider": "groq", "upstream_model": "llama-3.3-70b-versatile", "priority": 1},
                {"provider": "ollama", "upstream_model": "llama3.3", "priority": 2},
            ],
        },
        {
            "id": "portico/test-chat",
            "type": "llm",
            "owned_by": "portico",
            "pricing": {"input_per_1m": "0.50", "output_per_1m": "1.50"},
            "deployments": [{"provider": "local", "upstream_model": "test-chat"}],
        },
    ],
}


def catalog(**changes) -> dict:
    return copy.deepcopy(CATALOG) | changes


def problems(data: dict, **kwargs) -> list[str]:
    with pytest.raises(CatalogError) as excinfo:
        load_catalog(data, environ={}, **kwargs)
    return excinfo.value.errors


def test_it_creates_providers_models_and_deployments():
    report = load_catalog(catalog(), environ={})

    assert report.count("created") == 3 + 2 + 3
    llama = Model.objects.get(public_id="llama-3.3-70b")
    assert llama.input_price_per_1m == Decimal("0.59")
    assert llama.output_price_per_1m == Decimal("0.79")
    assert llama.context_window == 131072
    assert llama.owned_by == "groq"  # defaults to the first deployment's provider
    deployments = {(d.provider.name, d.upstream_model, d.priority) for d in llama.deployments.all()}
    assert deployments == {("groq", "llama-3.3-70b-versatile", 1), ("ollama", "llama3.3", 2)}


def test_loading_the_same_file_twice_changes_nothing():
    load_catalog(catalog(), environ={"GROQ_API_KEY": "gsk-1"})
    stamps = {m.public_id: m.updated_at for m in Model.objects.all()}
    key_before = Provider.objects.get(name="groq").api_key_encrypted

    report = load_catalog(catalog(), environ={"GROQ_API_KEY": "gsk-1"})

    assert not report.changed
    assert report.unchanged == 3 + 2 + 3
    assert {m.public_id: m.updated_at for m in Model.objects.all()} == stamps
    # Encryption is randomised: an unchanged key must not be re-encrypted on every load.
    assert Provider.objects.get(name="groq").api_key_encrypted == key_before


def test_reloading_an_edited_file_updates_the_price():
    load_catalog(catalog(), environ={})
    edited = catalog()
    edited["models"][0]["pricing"]["input_per_1m"] = "0.55"

    report = load_catalog(edited, environ={})

    assert Model.objects.get(public_id="llama-3.3-70b").input_price_per_1m == Decimal("0.55")
    updated = [c for c in report.changes if c.action == "updated"]
    assert [(c.label, c.fields) for c in updated] == [("llama-3.3-70b", ("input_price_per_1m",))]


def test_keys_left_out_of_the_file_keep_the_value_an_admin_set():
    load_catalog(catalog(), environ={})
    Model.objects.filter(public_id="llama-3.3-70b").update(description="Edited in the admin")

    load_catalog(catalog(), environ={})

    assert Model.objects.get(public_id="llama-3.3-70b").description == "Edited in the admin"


def test_numbers_are_read_as_written_not_as_binary_floats():
    data = catalog()
    data["models"][0]["pricing"] = {"input_per_1m": 0.1, "output_per_1m": 3, "unit_price": 1e-4}

    load_catalog(data, environ={})

    llama = Model.objects.get(public_id="llama-3.3-70b")
    assert llama.input_price_per_1m == Decimal("0.1")
    assert llama.output_price_per_1m == Decimal(3)
    assert llama.unit_price == Decimal("0.0001")


def test_a_provider_whose_variable_is_unset_is_created_disabled_and_says_why():
    report = load_catalog(catalog(), environ={})

    enabled = dict(Provider.objects.values_list("name", "enabled"))
    assert enabled == {"local": True, "groq": False, "ollama": False}
    reasons = {p.name: (p.enabled, p.reason) for p in report.providers}
    assert reasons["groq"] == (False, "GROQ_API_KEY is not set")
    assert reasons["ollama"] == (False, "OLLAMA_BASE_URL is not set")
    assert "llama-3.3-70b" in report.unroutable
    assert "portico/test-chat" not in report.unroutable
    output = "\n".join(report.lines())
    assert "groq" in output and "GROQ_API_KEY is not set" in output


def test_setting_the_variable_and_reloading_enables_the_provider():
    load_catalog(catalog(), environ={})

    environ = {"GROQ_API_KEY": "gsk-secret", "OLLAMA_BASE_URL": "http://localhost:11434/v1"}
    report = load_catalog(catalog(), environ=environ)

    groq = Provider.objects.get(name="groq")
    ollama = Provider.objects.get(name="ollama")
    assert groq.enabled and ollama.enabled
    assert ollama.base_url == "http://localhost:11434/v1"
    assert {p.name: p.reason for p in report.providers}["groq"] == "GROQ_API_KEY is set"
    assert report.unroutable == []


def test_a_key_stored_earlier_keeps_the_provider_enabled_when_the_variable_goes():
    load_catalog(catalog(), environ={"GROQ_API_KEY": "gsk-secret"})

    report = load_catalog(catalog(), environ={})

    groq = Provider.objects.get(name="groq")
    assert groq.enabled
    assert groq.get_api_key() == "gsk-secret"
    assert (
        "using the API key already stored" in {p.name: p.reason for p in report.providers}["groq"]
    )


def test_enabled_false_in_the_file_wins_over_the_environment():
    data = catalog()
    data["providers"][1]["enabled"] = False

    report = load_catalog(data, environ={"GROQ_API_KEY": "gsk-secret"})

    assert not Provider.objects.get(name="groq").enabled
    assert {p.name: p.reason for p in report.providers}["groq"] == "enabled: false in the file"


def test_api_keys_come_from_the_environment_and_are_encrypted_at_rest():
    load_catalog(catalog(), environ={"GROQ_API_KEY": "gsk-secret-123"})

    groq = Provider.objects.get(name="groq")
    assert groq.api_key_encrypted
    assert "gsk-secret-123" not in groq.api_key_encrypted
    assert groq.get_api_key() == "gsk-secret-123"

    load_catalog(catalog(), environ={"GROQ_API_KEY": "gsk-rotated"})
    assert Provider.objects.get(name="groq").get_api_key() == "gsk-rotated"


def test_it_refuses_a_literal_api_key_in_the_file():
    data = catalog()
    data["providers"][1]["api_key"] = "gsk-literal"

    errors = problems(data)

    assert errors == [
        "providers[1]: unknown key 'api_key' (literal keys are not allowed: "
        "name a variable with api_key_env)"
    ]
    assert not Provider.objects.exists()


def test_it_reports_every_problem_with_its_path_in_the_file():
    data = catalog()
    data["providers"][1]["kind"] = "openia"
    data["providers"][1]["api_key_evn"] = "X"
    del data["models"][1]["type"]
    data["models"][0]["pricing"]["input_per_1m"] = "cheap"
    data["models"][0]["context_window"] = "big"
    data["models"][0]["deployments"][0]["provider"] = "grok"
    data["deployments"] = [{"model": "nope", "provider": "groq", "upstream_model": "x"}]

    errors = problems(data)

    assert errors == [
        "providers[1]: unknown key 'api_key_evn' (did you mean 'api_key_env'?)",
        "providers[1].kind: must be one of openai, anthropic, local, got 'openia'",
        "models[0].context_window: must be a whole number, got 'big'",
        "models[0].pricing.input_per_1m: must be a decimal amount such as \"0.59\", got 'cheap'",
        "models[1]: missing required key 'type'",
        "models[0].deployments[0].provider: unknown provider 'grok'",
        "deployments[0].model: unknown model 'nope'",
    ]
    assert not Model.objects.exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["providers"][0].pop("name"), "providers[0]: missing required key 'name'"),
        (
            lambda d: d["providers"][1].pop("base_url"),
            "providers[1]: needs base_url or base_url_env",
        ),
        (
            lambda d: d["providers"][1].update(base_url="api.groq.com"),
            "providers[1].base_url: must be an http(s) URL",
        ),
        (
            lambda d: d["providers"][1].update(api_key_env="gsk-abc 123"),
            "providers[1].api_key_env: must be the NAME of an environment variable",
        ),
        (
            lambda d: d["models"][0]["deployments"][0].pop("upstream_model"),
            "models[0].deployments[0]: missing required key 'upstream_model'",
        ),
        (
            lambda d: d["models"][0]["pricing"].update(output_per_1m="-1"),
            "models[0].pricing.output_per_1m: must be a non-negative amount",
        ),
        (
            lambda d: d["models"][0]["pricing"].update(output_per_1m=True),
            "models[0].pricing.output_per_1m: must be a decimal amount",
        ),
        (
            lambda d: d["models"].append(copy.deepcopy(d["models"][1])),
            "models[2]: duplicate model portico/test-chat (first at models[1])",
        ),
        (lambda d: d.update(extra=1), "(file): unknown key 'extra'"),
        (lambda d: d.update(models={"id": "x"}), "models: must be a list"),
    ],
)
def test_it_rejects_an_invalid_file(change, expected):
    data = catalog()
    change(data)

    errors = problems(data)

    assert any(error.startswith(expected) for error in errors), errors


def test_a_base_url_from_the_environment_must_be_a_url():
    with pytest.raises(CatalogError) as excinfo:
        load_catalog(catalog(), environ={"OLLAMA_BASE_URL": "localhost:11434"})

    assert excinfo.value.errors == [
        "providers[2].base_url_env: OLLAMA_BASE_URL must be an http(s) URL such as "
        "https://api.example.com/v1, got 'localhost:11434'"
    ]


def test_a_deployment_may_bind_a_model_already_in_the_database():
    load_catalog(catalog(), environ={})
    extra = {
        "providers": [
            {"name": "deepseek", "kind": "openai", "base_url": "https://api.deepseek.com/v1"}
        ],
        "deployments": [
            {"model": "llama-3.3-70b", "provider": "deepseek", "upstream_model": "x", "weight": 3}
        ],
    }

    load_catalog(extra, environ={})

    deployment = Deployment.objects.get(provider__name="deepseek")
    assert deployment.model.public_id == "llama-3.3-70b"
    assert deployment.weight == 3


def test_prune_disables_what_the_files_providers_no_longer_serve():
    load_catalog(catalog(), environ={})
    manual = Model.objects.create(public_id="handmade", type="llm")  # no deployment: untouched
    smaller = catalog()
    smaller["models"] = [smaller["models"][1]]  # llama-3.3-70b is gone

    report = load_catalog(smaller, environ={}, prune=False)
    assert not report.changed
    assert Model.objects.get(public_id="llama-3.3-70b").enabled

    report = load_catalog(smaller, environ={}, prune=True)

    assert not Model.objects.get(public_id="llama-3.3-70b").enabled
    assert not Deployment.objects.filter(model__public_id="llama-3.3-70b", enabled=True).exists()
    assert Model.objects.get(public_id="portico/test-chat").enabled
    assert Model.objects.get(pk=manual.pk).enabled
    assert report.count("disabled", "model") == 1
    assert report.count("disabled", "deployment") == 2

    # Putting it back re-enables it.
    load_catalog(catalog(), environ={}, prune=True)
    assert Model.objects.get(public_id="llama-3.3-70b").enabled


def test_a_dry_run_saves_nothing():
    report = load_catalog(catalog(), environ={}, dry_run=True)

    assert report.count("created") == 8
    assert "Dry run: nothing was saved." in report.lines()
    assert not Provider.objects.exists()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_command_loads_a_file_and_prints_the_report(tmp_path, monkeypatch):
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    path = write(
        tmp_path,
        """
providers:
  - {name: groq, kind: openai, base_url: "https://api.groq.com/openai/v1",
     api_key_env: GROQ_API_KEY, enabled_if_env: GROQ_API_KEY}
models:
  - id: llama-3.3-70b
    type: llm
    pricing: {input_per_1m: "0.59", output_per_1m: "0.79"}
    deployments: [{provider: groq, upstream_model: llama-3.3-70b-versatile}]
""",
    )
    out = StringIO()

    call_command("load_catalog", str(path), stdout=out)

    assert "groq  disabled  GROQ_API_KEY is not set" in out.getvalue()
    assert "3 created" in out.getvalue()
    monkeypatch.setenv("GROQ_API_KEY", "gsk-from-env")
    out = StringIO()
    call_command("load_catalog", str(path), stdout=out)
    assert "groq  enabled   GROQ_API_KEY is set" in out.getvalue()
    assert Provider.objects.get(name="groq").get_api_key() == "gsk-from-env"


def test_the_command_turns_problems_into_a_command_error(tmp_path):
    path = write(tmp_path, "models:\n  - id: m\n    type: chat\n")

    with pytest.raises(CommandError, match=r"models\[0\]\.type: must be one of llm"):
        call_command("load_catalog", str(path))


def test_the_command_reports_bad_yaml_with_its_line(tmp_path):
    path = write(tmp_path, "models:\n  - id: m\n    id: n\n")

    with pytest.raises(CommandError, match=r"catalog\.yaml:3:5: invalid YAML: duplicate key 'id'"):
        call_command("load_catalog", str(path))


def test_reading_a_missing_or_empty_file_is_a_clear_error(tmp_path):
    with pytest.raises(CatalogError, match="cannot read"):
        read_catalog_file(tmp_path / "missing.yaml")
    with pytest.raises(CatalogError, match="the file is empty"):
        read_catalog_file(write(tmp_path, "# nothing\n"))
