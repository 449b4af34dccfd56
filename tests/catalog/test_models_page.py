"""The Models pages: the filterable catalog table and one page per model."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Deployment, Model, Provider
from tests.support.html import visible_text
from usage.drain import record_usage_events
from usage.events import UsageEvent

pytestmark = pytest.mark.django_db


def add_model(public_id: str, providers: list[Provider], **fields) -> Model:
    model = Model.objects.create(public_id=public_id, **fields)
    for priority, provider in enumerate(providers, start=1):
        Deployment.objects.create(
            model=model, provider=provider, upstream_model=public_id, priority=priority
        )
    return model


@pytest.fixture
def catalog(db):
    groq = Provider.objects.create(name="groq", label="Groq", base_url="https://groq.test/v1")
    openai = Provider.objects.create(name="openai", label="OpenAI", base_url="https://oa.test/v1")
    local = Provider.objects.create(name="local", label="Built-in", kind="local")
    off = Provider.objects.create(name="off", base_url="https://off.test/v1", enabled=False)
    add_model(
        "openai/gpt-5-mini",
        [openai, groq],
        name="GPT-5 mini",
        description="A small, fast reasoning model.",
        context_window=400_000,
        max_output_tokens=128_000,
        input_price_per_1m=Decimal("0.25"),
        output_price_per_1m=Decimal("2"),
        cached_input_price_per_1m=Decimal("0.025"),
    )
    add_model("llama-3.3-70b", [groq], name="Llama 3.3 70B", input_price_per_1m=Decimal("0.59"))
    add_model("text-embed", [openai], type="embedding", input_price_per_1m=Decimal("0.02"))
    add_model("portico/ocr", [local], type="ocr", unit_price=Decimal("0.0015"))
    add_model("switched-off", [groq], enabled=False)
    add_model("no-deployments", [])
    add_model("only-on-a-disabled-provider", [off])
    return {"groq": groq, "openai": openai}


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def listed(response) -> list[str]:
    return [row.id for row in response.context["rows"]]


def test_it_asks_visitors_to_sign_in(client):
    assert client.get(reverse("models")).status_code == HTTPStatus.FOUND


def test_it_lists_enabled_models_that_have_a_deployment(signed_in, catalog):
    response = signed_in.get(reverse("models"))

    assert response.status_code == HTTPStatus.OK
    assert listed(response) == ["llama-3.3-70b", "openai/gpt-5-mini", "portico/ocr", "text-embed"]
    text = response.content.decode()
    assert "400,000" in text
    assert "$0.25" in text and "$2.00" in text
    assert "$0.0015 / page" in visible_text(text)
    assert "OpenAI, Groq" in text  # providers in routing order


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "gpt"}, ["openai/gpt-5-mini"]),
        ({"q": "LLAMA 70b"}, ["llama-3.3-70b"]),
        ({"q": "groq"}, ["llama-3.3-70b", "openai/gpt-5-mini"]),
        ({"type": "embedding"}, ["text-embed"]),
        ({"provider": "openai"}, ["openai/gpt-5-mini", "text-embed"]),
        ({"provider": "groq", "type": "llm", "q": "mini"}, ["openai/gpt-5-mini"]),
        ({"q": "nothing like this"}, []),
    ],
)
def test_search_type_and_provider_filter_the_table(signed_in, catalog, params, expected):
    assert listed(signed_in.get(reverse("models"), params)) == expected


def test_htmx_gets_only_the_table(signed_in, catalog):
    response = signed_in.get(reverse("models"), {"q": "embed"}, headers={"HX-Request": "true"})

    text = response.content.decode()
    assert "<html" not in text
    assert 'id="model-results"' in text
    assert "text-embed" in text and "llama-3.3-70b" not in text
    assert "1 of 4 models" in text
    assert "HX-Request" in response["Vary"]


def test_the_page_works_as_a_plain_form_without_javascript(signed_in, catalog):
    response = signed_in.get(reverse("models"), {"q": "embed"})
    text = response.content.decode()
    assert "<html" in text and 'method="get"' in text
    assert listed(response) == ["text-embed"]


def test_models_outside_my_allowlist_are_marked(signed_in, alice, catalog):
    alice.allowed_models = ["llama-3.3-70b"]
    alice.save()

    response = signed_in.get(reverse("models"))

    rows = {row.id: row.allowed for row in response.context["rows"]}
    assert rows == {
        "llama-3.3-70b": True,
        "openai/gpt-5-mini": False,
        "portico/ocr": False,
        "text-embed": False,
    }
    assert response.content.decode().count("not available to you") == 3


def usage(model: str, provider: str, latency: int, ttft: int | None = None, **fields) -> UsageEvent:
    return UsageEvent(
        **{
            "request_id": f"req_{model}_{latency}_{fields.get('status', 'ok')}",
            "user_id": fields.pop("user_id"),
            "model": model,
            "provider": provider,
            "endpoint": "chat.completions",
            "stream": ttft is not None,
            "prompt_tokens": 10,
            "completion_tokens": 100,
            "cost_usd": "0.0001",
            "status": "ok",
            "latency_ms": latency,
            "ttft_ms": ttft,
            "created_at": timezone.now().timestamp(),
            **fields,
        }
    )


def test_measured_latency_shows_in_the_table(signed_in, alice, catalog):
    record_usage_events(
        [
            usage("openai/gpt-5-mini", "openai", 400, 100, user_id=alice.pk),
            usage("openai/gpt-5-mini", "openai", 600, 120, user_id=alice.pk),
            usage("openai/gpt-5-mini", "openai", 500, None, user_id=alice.pk, status="error"),
        ]
    )

    response = signed_in.get(reverse("models"))

    row = next(r for r in response.context["rows"] if r.id == "openai/gpt-5-mini")
    assert row.stats["sample_size"] == 3
    assert row.error_percent == pytest.approx(33.33)
    assert row.stats["p50_ms"] is not None
    assert "33.33%" in response.content.decode()


def test_a_model_page_handles_ids_with_slashes(signed_in, alice, catalog):
    record_usage_events([usage("openai/gpt-5-mini", "openai", 400, 100, user_id=alice.pk)])

    response = signed_in.get(reverse("model_detail", args=["openai/gpt-5-mini"]))

    assert response.status_code == HTTPStatus.OK
    assert response.request["PATH_INFO"] == "/models/openai/gpt-5-mini/"
    text = response.content.decode()
    for expected in ("A small, fast reasoning model.", "400,000", "128,000", "$0.025", "Groq"):
        assert expected in text, expected
    latency = json.loads(
        re.search(r'id="latency-chart-data"[^>]*>(.*?)</script>', text, re.S).group(1)
    )
    assert len(latency["labels"]) == 24
    assert [s["name"] for s in latency["series"]] == ["p50", "p95", "Time to first token (p50)"]
    assert latency["series"][0]["values"][-1] is not None  # this hour's traffic
    assert 'data-chart="line"' in text
    assert 'model="openai/gpt-5-mini"' in text  # the Python example
    assert "http://testserver/v1/chat/completions" in text  # the curl example


def test_example_code_follows_the_model_type(signed_in, catalog):
    embed = signed_in.get(reverse("model_detail", args=["text-embed"])).content.decode()
    ocr = signed_in.get(reverse("model_detail", args=["portico/ocr"])).content.decode()
    assert "/v1/embeddings" in embed and "/chat/completions" not in embed
    assert "/v1/ocr/upload" in ocr


@pytest.mark.parametrize("model_id", ["nope", "switched-off", "no-deployments"])
def test_unknown_or_unserved_models_are_not_found(signed_in, catalog, model_id):
    response = signed_in.get(reverse("model_detail", args=[model_id]))
    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.fixture
def measured(alice, catalog):
    record_usage_events(
        [
            usage("llama-3.3-70b", "groq", 300, user_id=alice.pk),
            usage("openai/gpt-5-mini", "openai", 500, user_id=alice.pk),
        ]
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"sort": "price"}, ["text-embed", "openai/gpt-5-mini", "llama-3.3-70b", "portico/ocr"]),
        ({"sort": "context"}, ["openai/gpt-5-mini", "llama-3.3-70b", "portico/ocr", "text-embed"]),
        ({"sort": "latency"}, ["llama-3.3-70b", "openai/gpt-5-mini", "portico/ocr", "text-embed"]),
        (
            {"sort": "throughput"},
            ["llama-3.3-70b", "openai/gpt-5-mini", "portico/ocr", "text-embed"],
        ),
        ({"sort": "price", "type": "llm"}, ["openai/gpt-5-mini", "llama-3.3-70b"]),
        ({"sort": "latency", "type": "chat"}, ["llama-3.3-70b", "openai/gpt-5-mini"]),
        ({"sort": "context", "type": "embedding"}, ["text-embed"]),
    ],
)
def test_it_sorts_with_unknown_values_last(signed_in, measured, params, expected):
    response = signed_in.get(reverse("models"), params)
    assert listed(response) == expected


def test_the_sort_survives_htmx_and_the_form_keeps_it(signed_in, measured):
    response = signed_in.get(
        reverse("models"), {"sort": "price", "q": "o"}, headers={"HX-Request": "true"}
    )
    text = response.content.decode()
    assert "<html" not in text
    order = ["text-embed", "openai/gpt-5-mini", "llama-3.3-70b", "portico/ocr"]
    assert sorted(order, key=lambda model: text.index(f">{model}</a>")) == order
    page = signed_in.get(reverse("models"), {"sort": "latency"}).content.decode()
    assert '<option value="latency" selected>' in page


@pytest.mark.parametrize(
    "query",
    [
        "sort=cheapest&type=nope&provider=nobody",
        "sort=%00&type=%00&provider=%00&q=%00",
        "sort=%F0%9F%98%80&type=%E2%80%AE&q=%F0%9F%98%80",
        "sort=%FF%FE&type=%C3&q=%ED%A0%80",
        "sort=price&sort=latency&type=llm&type=embedding",
        "q=" + "x" * 5000,
    ],
)
def test_invalid_or_hostile_parameters_are_ignored_not_an_error(signed_in, measured, query):
    response = signed_in.get(reverse("models") + "?" + query)
    assert response.status_code == HTTPStatus.OK
    assert "<html" in response.content.decode()
    assert "\x00" not in response.content.decode()


def test_an_invalid_sort_keeps_the_valid_filters(signed_in, measured):
    response = signed_in.get(reverse("models"), {"sort": "bogus", "type": "embedding"})
    assert listed(response) == ["text-embed"]
