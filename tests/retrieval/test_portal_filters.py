"""The Retrieval page's attributes: each document's shown as chips, and the search form's
``key op value`` rows filtering the search through the API's own filter parser, with
hostile rows answered by a clear message on the page (never a 500, never a charge)."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import pytest
from django.urls import reverse

from billing.credits import credit
from catalog.models import Model
from retrieval import collections, files, filter_rows, vector_store_files
from tests.support.html import visible_text
from tests.support.orgs import org_id
from usage.drain import discard_pending_events, drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
QUERY_PRICE = Decimal("0.002")
POLICIES = {
    "leave.txt": ("Leave policy for the harbour staff.", {"dept": "HR", "year": 2024}),
    "budget.txt": ("Harbour budget policy.", {"dept": "Finance", "year": "2024", "draft": True}),
    "old.txt": ("The harbour policy of old.", {"dept": "HR", "year": 2019, "lang": "٢٠٢٤"}),
}


@pytest.fixture
def store(alice):
    discard_pending_events()
    Model.objects.create(public_id="portico/alretrieval", type="retrieval", unit_price=QUERY_PRICE)
    credit(org_id(alice), Decimal(10), kind="adjustment", idempotency_key=f"fund:{alice.pk}")
    collection = collections.create_collection(alice, "Policies")
    for name, (text, attributes) in POLICIES.items():
        file = files.create_file(alice, name, "text/plain", text.encode(), "assistants")
        vector_store_files.attach_file(
            alice, collection.vector_store_id, file.file_id, attributes, None, None
        )
    return collection


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def search(client, collection, *rows: tuple[str, str, str], q: str = "harbour policy") -> str:
    data = {
        "q": q,
        "attr_key": [r[0] for r in rows],
        "attr_op": [r[1] for r in rows],
        "attr_value": [r[2] for r in rows],
    }
    response = client.post(
        reverse("retrieval-search", args=[collection.collection_id]),
        data,
        headers={"HX-Request": "true"},
    )
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def found(html: str) -> set[str]:
    return {name for name in POLICIES if f"{name}, page 1" in html}


def test_each_documents_attributes_are_shown_as_chips(signed_in, store):
    page = signed_in.get(reverse("retrieval-collection", args=[store.collection_id]))
    html = page.content.decode()
    assert html.count('class="chip"') == 8
    assert 'aria-label="Attributes of budget.txt"' in html
    text = visible_text(html)
    assert "dept: Finance" in text and "draft: true" in text and "year: 2019" in text
    # The keys the collection's documents use are offered in the form.
    assert '<option value="year"></option>' in html


def test_rows_filter_the_search_with_the_apis_comparisons(signed_in, store):
    assert found(search(signed_in, store)) == set(POLICIES)
    assert found(search(signed_in, store, ("dept", "eq", "HR"))) == {"leave.txt", "old.txt"}
    # "2024" means the number or the text: an attribute set either way matches.
    assert found(search(signed_in, store, ("year", "eq", "2024"))) == {"leave.txt", "budget.txt"}
    assert found(search(signed_in, store, ("year", "ne", "2024"))) == {"old.txt"}
    assert found(search(signed_in, store, ("year", "lt", "2020"))) == {"old.txt"}
    assert found(search(signed_in, store, ("draft", "eq", "true"))) == {"budget.txt"}
    both = search(signed_in, store, ("dept", "eq", "HR"), ("year", "gte", "2020"))
    assert found(both) == {"leave.txt"}
    assert "in documents where dept = HR, year ≥ 2020" in visible_text(both)
    # Digits of another script are text, never the number.
    assert found(search(signed_in, store, ("lang", "eq", "٢٠٢٤"))) == {"old.txt"}
    assert found(search(signed_in, store, ("year", "eq", "٢٠١٩"))) == set()
    # A blank row is no filter.
    assert found(search(signed_in, store, ("", "eq", ""))) == set(POLICIES)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("de\x00pt", "eq", "HR")], "Invalid 'filter 1 key': it contains the control character U+0000."),
        ([("dept", "eq", "H\x00R")], "Invalid 'filter 1 value': it contains the control character U+0000."),
        ([("dept", "eq", "\u202eRH")], "control character U+202E"),
        ([("", "eq", "HR")], "Filter 1 needs an attribute name."),
        ([("dept", "in", "HR")], "Filter 1: choose one of the comparisons offered."),
        ([("k" * 65, "eq", "x")], "Invalid 'filter 1.key': 1 to 64 characters."),
        ([("dept", "eq", "x" * 513)], "Invalid 'filter 1.value': at most 512 characters."),
        ([(f"k{i}", "eq", "v") for i in range(17)], "At most 16 attribute filters (17 given)."),
    ],
)  # fmt: skip
def test_hostile_rows_are_a_clear_message_and_cost_nothing(signed_in, store, rows, message):
    html = search(signed_in, store, *rows)
    assert 'role="alert"' in html and message in visible_text(html)
    drain_usage()
    assert not UsageRecord.objects.filter(cost_usd__gt=0).exists()


def test_rows_of_unequal_lengths_are_refused(signed_in, store):
    response = signed_in.post(
        reverse("retrieval-search", args=[store.collection_id]),
        {"q": "harbour", "attr_key": ["dept", "year"], "attr_op": ["eq"], "attr_value": ["HR"]},
        headers={"HX-Request": "true"},
    )
    assert "Each filter row has a key, a comparison and a value." in response.content.decode()


def test_without_script_the_page_comes_back_with_the_rows_kept(signed_in, store):
    html = signed_in.post(
        reverse("retrieval-search", args=[store.collection_id]),
        {"q": "harbour", "attr_key": ["dept"], "attr_op": ["ne"], "attr_value": ["HR"]},
    ).content.decode()
    assert "<html" in html and found(html) == {"budget.txt"}
    assert 'name="attr_key" list="rtv-attr-keys" maxlength="64" value="dept"' in html
    assert '<option value="ne" selected>' in html
    assert '<details class="rtv-filters" open>' in html


def test_a_value_is_read_as_a_person_means_it():
    read = filter_rows.row_filter
    assert read({"key": "n", "op": "gte", "value": "2.5"}, 1) == {
        "type": "gte",
        "key": "n",
        "value": 2.5,
    }
    assert read({"key": "n", "op": "eq", "value": "007"}, 1) == {
        "type": "eq",
        "key": "n",
        "value": "007",
    }
    assert read({"key": "n", "op": "eq", "value": "-3"}, 1)["filters"][1]["value"] == -3
