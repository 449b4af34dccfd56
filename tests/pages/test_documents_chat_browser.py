"""The playground's "Chat with your documents" in a real browser against the real server:
pick one of your collections, ask, the answer streams in with the pages it was given
listed under it (the cited ones marked), a citation opens its page, and refusals (a
store deleted meanwhile, an empty wallet) are shown on the page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.credits import credit
from catalog.models import Deployment, Model, Provider
from fakeupstream import FakeUpstream
from retrieval import collections, ingest
from tests.conftest import screenshot, serve_portico
from tests.support.browser import sign_in_as
from tests.support.orgs import org_id
from tests.support.processes import wait_for
from usage.drain import discard_pending_events, drain_usage
from usage.models import UsageRecord

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
HARBOUR = [
    "Ships once crowded the old port of the city.",
    "The lighthouse of Pharos guided the ships into the harbour for centuries.",
]
CITED = "The lighthouse of Pharos guided the ships [1]."


@pytest.fixture(scope="module")
def upstream():
    up = FakeUpstream.start()
    try:
        yield up
    finally:
        up.stop()


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, mail_dir):
    """A server of this module's own: it caches the catalog these tests make."""
    yield from serve_portico(mail_dir)


@pytest.fixture
def documents_catalog(transactional_db, upstream):
    """The built-in test model, a model on the fake upstream that cites [1], and priced
    retrieval queries."""
    upstream.reset()
    upstream.configure(completion_text=CITED)
    discard_pending_events()
    fake = Provider.objects.create(
        name="fake", kind="openai", base_url=upstream.url + "/v1", first_byte_timeout=5
    )
    local = Provider.objects.create(name="local", kind="local")
    for public_id, provider, upstream_model in (
        ("fake-llm", fake, "fake-llm"),
        ("portico/test-chat", local, "test-chat"),
    ):
        model = Model.objects.create(
            public_id=public_id,
            input_price_per_1m=Decimal("0.5"),
            output_price_per_1m=Decimal("1.5"),
        )
        Deployment.objects.create(model=model, provider=provider, upstream_model=upstream_model)
    Model.objects.create(
        public_id="portico/alretrieval", type="retrieval", unit_price=Decimal("0.002")
    )
    yield upstream
    upstream.reset()


def make_store(user, name: str) -> str:
    collection = collections.create_collection(user, name)
    ingest.ingest_pages(user, collection.collection_id, "Harbour", "harbour.md", HARBOUR)
    return collection.vector_store_id


def open_playground(page, server, store_name: str) -> None:
    """The server reloads its catalog within about a second: wait until it offers it."""

    def offered() -> bool:
        page.goto(server.url + "/playground/")
        return page.locator('#pg-model-0 option[value="fake-llm"]').count() == 1

    wait_for(offered, timeout=10, interval=0.25, what="the playground to offer fake-llm")
    store = page.get_by_label("Chat with your documents")
    store.select_option(label=f"{store_name} (1 ready)")


def ask(page, question: str) -> None:
    box = page.get_by_label("Message")
    box.fill(question)
    box.press("Enter")


@pytest.mark.allow_http_error(404)
def test_a_question_to_a_collection_is_answered_with_its_pages(
    page, server, documents_catalog, alice, bob
):
    credit(org_id(alice), Decimal("5"), kind="adjustment", idempotency_key="docs-chat-fund")
    store = make_store(alice, "Harbours")
    make_store(bob, "Bob's secrets")
    sign_in_as(page, server, alice)
    open_playground(page, server, "Harbours")
    options = page.get_by_label("Chat with your documents").locator("option")
    expect(options).to_have_text(["Off: the model alone", "Harbours (1 ready)"])

    page.get_by_label("Model", exact=True).select_option("fake-llm")
    ask(page, "Which lighthouse guided the ships?")
    reply = page.locator(".pg-assistant").last
    expect(reply.locator(".pg-body")).to_have_text(CITED, timeout=20_000)
    sources = reply.get_by_role("region", name="Sources")
    expect(sources).to_contain_text("searched for “Which lighthouse guided the ships?”")
    first = sources.locator("li").first
    expect(first.get_by_role("link")).to_have_text("[1] harbour.md, page 2")
    expect(first.get_by_text("cited", exact=True)).to_be_visible()
    expect(reply.locator('[data-stat="searches"]')).to_have_text("1")
    cost = reply.locator('[data-stat="cost"]')
    wait_for(lambda: cost.get_attribute("data-cost-usd"), timeout=10, what="the cost")
    request_id = reply.get_attribute("data-request-id")
    drain_usage()
    records = UsageRecord.objects.filter(request_id__startswith=request_id)
    assert {r.source for r in records} == {"playground"}
    assert Decimal(cost.get_attribute("data-cost-usd")) == sum(r.cost_usd for r in records)
    screenshot(page, "playground-documents")

    # The citation opens the document's page, the query's words marked.
    with page.context.expect_page() as opened:
        first.get_by_role("link").click()
    cited = opened.value
    cited.wait_for_load_state()
    assert "/pages/2/" in cited.url
    text = cited.get_by_test_id("rtv-page-text")
    expect(text).to_contain_text("The lighthouse of Pharos")
    expect(text.locator("mark", has_text="lighthouse")).to_be_visible()
    cited.close()

    # The built-in test model cites nothing: the pages it read are listed, none marked.
    page.get_by_label("Model", exact=True).select_option("portico/test-chat")
    ask(page, "lighthouse")
    reply = page.locator(".pg-assistant").last
    expect(reply.get_by_role("region", name="Sources")).to_contain_text(
        "The model cited none of these", timeout=20_000
    )
    expect(reply.get_by_text("cited", exact=True)).to_have_count(0)

    # The collection is deleted meanwhile: the page says so.
    collections.delete_collection(alice, store.removeprefix("vs_"))
    ask(page, "Which lighthouse?")
    alert = page.locator(".pg-assistant").last.get_by_role("alert")
    expect(alert).to_contain_text("No such vector store")


@pytest.mark.allow_http_error(402)
def test_an_empty_wallet_is_told_to_top_up(page, server, documents_catalog, charlie):
    make_store(charlie, "Unpaid")
    sign_in_as(page, server, charlie)
    open_playground(page, server, "Unpaid")
    ask(page, "Which lighthouse guided the ships?")
    alert = page.locator(".pg-assistant").last.get_by_role("alert")
    expect(alert).to_contain_text("Top up your wallet")
    expect(page.locator(".pg-sources")).to_have_count(0)
    assert page.get_by_label("Message").input_value() == "Which lighthouse guided the ships?"
