"""The catalog files shipped at the repository root load cleanly, with or without keys."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings

from catalog.catalog_file import read_catalog_file
from catalog.loading import load_catalog
from catalog.models import Deployment, Model, Provider
from catalog.shipped import load_default_catalog

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
SHIPPED = ["catalog.yaml", "catalog.fake.yaml"]


def full_environment(data: dict) -> dict[str, str]:
    """Every variable the file names, set: URLs for base URLs, dummy keys otherwise."""
    environ = {}
    for provider in data["providers"]:
        if name := provider.get("base_url_env"):
            environ[name] = "http://127.0.0.1:9100/v1"
        for key in ("api_key_env", "enabled_if_env"):
            if (name := provider.get(key)) and name not in environ:
                environ[name] = f"test-key-for-{provider['name']}"
    return environ


@pytest.mark.parametrize("filename", SHIPPED)
def test_a_shipped_catalog_loads_with_an_empty_environment(filename):
    data = read_catalog_file(ROOT / filename)

    report = load_catalog(data, environ={})

    enabled = set(Provider.objects.filter(enabled=True).values_list("name", flat=True))
    assert enabled == ({"local"} if filename == "catalog.yaml" else set())
    assert not any(p.api_key_encrypted for p in Provider.objects.all())
    assert Model.objects.count() == len(data["models"])
    assert not load_catalog(data, environ={}).changed
    assert report.unroutable  # the remote models wait for their keys


@pytest.mark.parametrize("filename", SHIPPED)
def test_a_shipped_catalog_loads_with_every_variable_set(filename):
    data = read_catalog_file(ROOT / filename)
    environ = full_environment(data)

    report = load_catalog(data, environ=environ)

    assert all(p.enabled for p in report.providers), report.lines()
    assert report.unroutable == []
    for provider in Provider.objects.exclude(kind=Provider.Kind.LOCAL):
        assert provider.base_url.startswith(("http://", "https://"))
    for spec in data["providers"]:
        if spec.get("api_key_env"):
            stored = Provider.objects.get(name=spec["name"]).get_api_key()
            assert stored == environ[spec["api_key_env"]]
    assert not load_catalog(data, environ=environ).changed


def test_the_default_catalog_has_the_reference_models_and_the_offline_ones():
    load_catalog(read_catalog_file(ROOT / "catalog.yaml"), environ={})

    ids = set(Model.objects.values_list("public_id", flat=True))
    assert {
        "llama-3.3-70b",
        "llama-4-maverick-17b",
        "gpt-oss-120b",
        "gpt-oss-20b",
        "qwen3-32b",
        "openai/gpt-5-mini",
        "google/gemini-3-flash",
        "google/gemini-3-pro",
        "google/gemini-2.5-flash",
        "anthropic/claude-sonnet-4-5",
        "anthropic/claude-haiku-4-5",
        "deepseek-chat",
        "ollama/llama3.2",
        "deep-sa/alEmbedding",
        "deep-sa/alLLM",
        "portico/test-chat",
        "portico/test-embedding",
        "portico/multilingual-e5-small",
        "portico/ocr",
        "portico/alretrieval",
    } <= ids
    deepseek = Model.objects.get(public_id="deepseek-chat")
    assert (deepseek.input_price_per_1m, deepseek.output_price_per_1m) == (
        Decimal("0.27"),
        Decimal("1.10"),
    )
    local = Provider.objects.get(name="local")
    assert (local.kind, local.label, local.enabled) == (
        "local",
        "Portico built-in (local models)",
        True,
    )
    test_chat = Model.objects.get(public_id="portico/test-chat")
    assert test_chat.input_price_per_1m > 0 and test_chat.output_price_per_1m > 0
    assert "does not understand your prompt" in test_chat.description
    assert Model.objects.get(public_id="portico/ocr").unit_price == Decimal("0.0015")
    assert Model.objects.get(public_id="portico/alretrieval").unit_price == Decimal("0.002")
    local_models = Deployment.objects.filter(provider=local).values_list(
        "upstream_model", flat=True
    )
    assert set(local_models) == {
        "test-chat",
        "test-embedding",
        "multilingual-e5-small",
        "ocr",
        "alretrieval",
    }
    embedding = Model.objects.get(public_id="deep-sa/alEmbedding")
    assert embedding.type == "embedding"
    assert embedding.deployments.get().upstream_model == "text-embedding-3-small"
    assert Provider.objects.get(name="anthropic").kind == "anthropic"


def test_the_fake_catalog_speaks_both_dialects_to_one_server():
    environ = {"FAKE_UPSTREAM_URL": "http://127.0.0.1:9100/v1"}
    load_catalog(read_catalog_file(ROOT / "catalog.fake.yaml"), environ=environ)

    fake_claude = Deployment.objects.get(model__public_id="fake-claude")
    assert fake_claude.provider.kind == "anthropic"
    assert fake_claude.upstream_model == "fake-llm"
    urls = set(Provider.objects.values_list("base_url", flat=True))
    assert urls == {"http://127.0.0.1:9100/v1"}
    assert set(Model.objects.values_list("public_id", flat=True)) == {
        "fake-llm",
        "fake-llm-2",
        "fake-embed",
        "fake-claude",
    }


def test_the_bootstrap_hook_loads_the_fake_catalog_only_when_its_server_is_configured():
    out = StringIO()

    load_default_catalog(admin=None, demo=None, stdout=out, environ={})

    assert not Provider.objects.filter(name="fake").exists()
    assert "Catalog catalog.yaml:" in out.getvalue()
    assert "local" in out.getvalue()

    reports = load_default_catalog(
        stdout=None, environ={"FAKE_UPSTREAM_URL": "http://127.0.0.1:9100/v1"}
    )

    assert len(reports) == 2
    assert Provider.objects.get(name="fake").enabled
