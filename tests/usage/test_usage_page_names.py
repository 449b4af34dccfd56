"""The Usage pages name keys, explain errors, link only catalog models, mark models
without a provider; the dashboard links only catalog models too."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from accounts.keys import issue_key
from catalog.models import Provider
from tests.gateway.conftest import add_model
from tests.support.usage import usage_event
from usage.drain import discard_pending_events, record_usage_events
from usage.errors import explain

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_pending_events():
    discard_pending_events()
    yield
    discard_pending_events()


@pytest.fixture
def models(db):
    local = Provider.objects.create(name="local", kind="local")
    add_model("portico/test-chat", [(local, "test-chat", 1)])
    add_model("lonely-chat", [])


@pytest.fixture
def signed_in(alice) -> Client:
    web = Client()
    web.force_login(alice)
    return web


def record(user, **fields):
    event = usage_event(user, **fields)
    record_usage_events([event])
    return event


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_requests_table_names_the_key_with_its_prefix_beside(signed_in, alice, models):
    key = issue_key(alice, "billing-service prod").key
    record(alice, api_key_id=key.pk, model="portico/test-chat")

    page = text_of(signed_in.get("/usage/"))

    assert f'billing-service prod <code class="muted key-prefix">{key.prefix}…</code>' in page


def test_only_catalog_models_are_links(signed_in, alice, models):
    record(alice, model="portico/test-chat")
    record(
        alice, model="no-such-model", status="error", http_status=404, error_code="model_not_found"
    )

    page = signed_in.get("/usage/").content.decode()

    assert '<a href="/models/portico/test-chat/">portico/test-chat</a>' in page
    assert 'data-label="Model">no-such-model</td>' in page
    assert 'href="/models/no-such-model/"' not in page


def test_the_model_filter_lists_what_the_models_page_lists(signed_in, alice, models):
    page = signed_in.get("/usage/?model=gone-model").content.decode()

    assert '<option value="portico/test-chat">portico/test-chat</option>' in page
    # A model no provider serves is hidden on the Models page: here too, until used.
    assert 'value="lonely-chat"' not in page
    assert re.search(r'<option value="gone-model" selected>gone-model \(not in the catalog\)', page)


def test_the_model_filter_adds_models_spent_on_in_the_period(signed_in, alice, models):
    record(alice, model="lonely-chat", cost_usd=Decimal("0.5"))
    record(alice, model="retired/model", cost_usd=Decimal("0.25"))
    record(alice, model="nope/none", status="error", http_status=404, cost_usd=Decimal(0))

    page = signed_in.get("/usage/").content.decode()

    assert '<option value="lonely-chat">lonely-chat (no provider)</option>' in page
    assert '<option value="retired/model">retired/model (not in the catalog)</option>' in page
    assert 'value="nope/none"' not in page


def test_calls_to_models_that_never_existed_are_counted_but_not_listed(signed_in, alice, models):
    record(alice, model="portico/test-chat", cost_usd=Decimal("0.1"))
    for _ in range(2):
        record(alice, model="nope/none", status="error", http_status=404, cost_usd=Decimal(0))
    record(alice, model="portico/test-chat", status="error", http_status=502, cost_usd=0)

    usage = signed_in.get("/usage/")
    dashboard = signed_in.get("/")

    assert [bar["model"] for bar in usage.context["model_bars"]] == ["portico/test-chat"]
    assert usage.context["summary"].totals.requests == 4  # every call still counts
    assert [model for model, _ in dashboard.context["summary"].top_models] == ["portico/test-chat"]
    assert "nope/none" not in text_of(dashboard)


def test_a_failed_request_page_explains_its_error_code(signed_in, alice, models):
    failed = record(
        alice, model="no-such-model", status="error", http_status=404, error_code="model_not_found"
    )

    response = signed_in.get(reverse("usage_detail", args=[failed.request_id]))

    assert response.status_code == HTTPStatus.OK
    page = text_of(response)
    assert "The model does not exist or is not available." in page
    assert 'no-such-model <span class="muted">(not in the catalog)</span>' in page
    assert 'href="/models/no-such-model/"' not in page


def test_a_successful_request_page_links_its_model_and_explains_nothing(signed_in, alice, models):
    done = record(alice, model="portico/test-chat")
    page = text_of(signed_in.get(reverse("usage_detail", args=[done.request_id])))
    assert '<a href="/models/portico/test-chat/">portico/test-chat</a>' in page
    assert 'data-testid="error-explanation"' not in page


def test_an_unknown_code_is_explained_by_its_status():
    assert explain("weird_code", 429) == "A rate limit was reached."
    assert explain("weird_code", None) == "The request failed."
    assert explain("", 200) == ""


def test_the_dashboard_links_top_models_only_when_the_catalog_has_them(signed_in, alice, models):
    record(alice, model="portico/test-chat")
    record(
        alice, model="no-such-model", status="error", http_status=404, error_code="model_not_found"
    )

    page = signed_in.get("/").content.decode()

    assert 'href="/models/portico/test-chat/"' in page
    assert 'href="/models/no-such-model/"' not in page


def test_the_csv_export_names_the_key_after_its_prefix(signed_in, alice, models):
    key = issue_key(alice, "=nightly batch").key
    record(alice, api_key_id=key.pk, model="portico/test-chat")
    record(alice, model="portico/test-chat")

    response = signed_in.get("/usage/export.csv")
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    header = list(lines[0])
    assert header.index("api_key_name") == header.index("api_key_prefix") + 1
    assert sorted((line["api_key_prefix"], line["api_key_name"]) for line in lines) == [
        ("", ""),
        (key.prefix, "'=nightly batch"),  # a name is user text: never a formula
    ]
