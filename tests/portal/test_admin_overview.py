"""The staff overview (/admin/overview/), the usage panel on a user's admin page, and the
OCR and retrieval lists in the admin."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.utils import timezone

from accounts.keys import issue_key
from accounts.models import User
from billing.credits import credit
from billing.models import Wallet
from billing.wallets import ensure_wallet
from catalog.models import Deployment, Model, Provider
from gateway import routing
from ocr.models import OcrJob
from retrieval.models import Collection, Document
from tests.conftest import make_user
from tests.support.cache import clear_cache
from tests.support.html import visible_text
from tests.support.orgs import org_id
from tests.support.usage import usage_event
from usage.drain import record_usage_events
from usage.models import DeadUsageEvent

OVERVIEW = "/admin/overview/"


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def record(user, **overrides) -> str:
    event = usage_event(user, **overrides)
    assert record_usage_events([event]) == 1
    return event.request_id


def test_a_signed_out_visitor_is_sent_to_the_admin_sign_in(client, db):
    response = client.get(OVERVIEW)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/admin/login/?next=/admin/overview/"


def test_a_signed_in_user_who_is_not_staff_is_refused(client, alice):
    client.force_login(alice)
    response = client.get(OVERVIEW)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert b"alice@example.com" not in response.content


def test_staff_without_permission_to_view_usage_and_wallets_is_refused(client, db):
    clerk = User.objects.create_user(email="clerk@example.com", is_staff=True)
    client.force_login(clerk)
    assert client.get(OVERVIEW).status_code == HTTPStatus.FORBIDDEN


def test_the_admin_index_links_to_the_overview(staff_client):
    response = staff_client.get("/admin/")
    assert response.status_code == HTTPStatus.OK
    assert b'href="/admin/overview/"' in response.content


def test_an_empty_deployment_shows_the_overview_with_no_data(staff_client):
    response = staff_client.get(OVERVIEW)
    assert response.status_code == HTTPStatus.OK
    assert response.context["traffic"].last_30d.requests == 0
    assert response.context["error_rate_24h"] == "—"
    assert b"No failed requests" in response.content
    assert b"No wallet owes anything" in response.content


def test_staff_see_spend_requests_errors_and_the_top_spenders(staff_client, alice, bob):
    for _ in range(3):
        record(alice, model="big-model", cost_usd=Decimal("0.5"))
    failed = record(
        alice,
        model="big-model",
        status="error",
        http_status=502,
        error_code="upstream_error",
        cost_usd=Decimal(0),
    )
    # Eight days ago: in the 30 days, not in the last 24 hours.
    record(bob, model="small-model", cost_usd=Decimal("0.25"), created_at=time.time() - 8 * 86400)

    response = staff_client.get(OVERVIEW)
    assert response.status_code == HTTPStatus.OK
    context = response.context
    assert context["traffic"].last_24h.requests == 4
    assert context["traffic"].last_24h.cost == Decimal("1.5")
    assert context["error_rate_24h"] == "25.0 %"
    assert context["traffic"].last_30d.requests == 5
    assert context["traffic"].last_30d.cost == Decimal("1.75")
    assert context["error_rate_30d"] == "20.0 %"
    assert len(context["charts"]["spend_hourly"]["labels"]) == 24
    assert len(context["charts"]["requests_daily"]["labels"]) == 30
    assert sum(context["charts"]["requests_daily"]["series"][1]["values"]) == 1

    tables = {testid: rows for _, rows, testid, _ in context["top_tables"]}
    assert [row.label for row in tables["top-users"]] == ["alice@example.com", "bob@example.com"]
    assert [row.label for row in tables["top-models"]] == ["big-model", "small-model"]
    assert tables["top-users"][0].totals.cost == Decimal("1.5")
    assert tables["top-users"][0].url == f"/admin/accounts/user/{alice.pk}/change/"

    html = response.content.decode()
    assert "$1.50" in html and "$1.75" in html
    assert failed in html
    assert "The provider answered with an error." in html
    # The failure links to the request in the admin, and that page opens.
    failure = context["failures"][0].record
    assert failure.request_id == failed
    assert f"/admin/usage/usagerecord/{failure.pk}/change/" in html
    detail = staff_client.get(f"/admin/usage/usagerecord/{failure.pk}/change/")
    assert detail.status_code == HTTPStatus.OK
    assert failed in detail.content.decode()


def test_top_keys_name_the_key_and_its_owner(staff_client, alice):
    key = issue_key(alice, "production app").key
    record(alice, api_key_id=key.pk, cost_usd=Decimal("2"))
    response = staff_client.get(OVERVIEW)
    rows = {testid: rows for _, rows, testid, _ in response.context["top_tables"]}["top-keys"]
    assert [(row.label, row.totals.cost) for row in rows] == [("production app", Decimal(2))]
    assert f"{key.prefix}… · alice@example.com" == rows[0].detail


def test_provider_health_shows_error_rate_latency_and_cooldowns(staff_client, alice, settings):
    provider = Provider.objects.create(name="flaky", kind="openai", base_url="http://x.test/v1")
    Provider.objects.create(name="spare", kind="openai", base_url="http://y.test/v1", enabled=False)
    model = Model.objects.create(public_id="flaky/chat")
    deployment = Deployment.objects.create(model=model, provider=provider, upstream_model="up")
    record(alice, model="flaky/chat", provider="flaky", latency_ms=400)
    record(alice, model="flaky/chat", provider="flaky", status="error", error_code="upstream_error")
    routing.reset_health()
    try:
        for _ in range(settings.DEPLOYMENT_FAILURES_BEFORE_COOLDOWN):
            routing.record_failure(deployment.pk)
        response = staff_client.get(OVERVIEW)
    finally:
        routing.reset_health()
    providers = {p.name: p for p in response.context["providers"]}
    assert providers["flaky"].stats["sample_size"] == 2
    assert providers["flaky"].error_rate_display == "50.0 %"
    assert 300 < providers["flaky"].stats["p50_ms"] < 500
    assert providers["flaky"].state == "cooling down"
    assert providers["flaky"].cooling[0][0] == "flaky/chat → up"
    assert providers["spare"].state == "disabled"
    assert "flaky/chat → up" in response.content.decode()


def test_queues_parked_events_and_unpaid_wallets(staff_client, alice, bob):
    now = timezone.now()
    for status, pages_done in (("queued", 0), ("processing", 3), ("done", 10)):
        OcrJob.objects.create(
            token=f"tok-{status}",
            owner=alice,
            filename=f"{status}.pdf",
            status=status,
            total_pages=10,
            pages_done=pages_done,
            created_at=now - timedelta(hours=2),
            expires_at=now + timedelta(days=1),
        )
    collection = Collection.objects.create(owner=bob, name="papers")
    Document.objects.create(collection=collection, filename="a.pdf", mime_type="application/pdf")
    Document.objects.create(
        collection=collection, filename="b.pdf", mime_type="application/pdf", status="ready"
    )
    DeadUsageEvent.objects.create(request_id="req_parked", payload="{}", error="IntegrityError")
    ensure_wallet(org_id(bob))
    Wallet.objects.filter(organization__personal_for=bob).update(unpaid_usd=Decimal("0.42"))

    response = staff_client.get(OVERVIEW)
    ocr, retrieval = response.context["queues"]
    assert (ocr.queued, ocr.processing, ocr.pending_pages) == (1, 1, 17)
    assert timedelta(hours=2) <= ocr.oldest_age < timedelta(hours=3)
    assert (retrieval.queued, retrieval.processing) == (1, 0)
    assert response.context["parked"].count == 1
    assert response.context["unpaid"].count == 1
    html = response.content.decode()
    assert "req_parked" in html
    assert "1 wallet owes $0.42" in visible_text(html)
    assert "17 pages to read" in html


def test_the_overview_costs_the_same_number_of_queries_however_many_users(
    staff_client, django_assert_max_num_queries
):
    def users(n: int, start: int) -> None:
        for i in range(start, start + n):
            user = make_user(f"user{i}@example.com")
            record(user, cost_usd=Decimal("0.01"), status="error" if i % 2 else "ok")

    users(2, 0)
    with django_assert_max_num_queries(30) as few:
        staff_client.get(OVERVIEW)
    users(30, 2)
    clear_cache()  # the rollup figures are kept for a few seconds
    with django_assert_max_num_queries(len(few.captured_queries)):
        staff_client.get(OVERVIEW)


def test_the_rollup_figures_are_kept_briefly_and_the_live_parts_are_not(staff_client, alice):
    record(alice, cost_usd=Decimal("1"))
    assert staff_client.get(OVERVIEW).context["traffic"].last_24h.requests == 1
    failed = record(alice, status="error", error_code="upstream_error", http_status=502)
    response = staff_client.get(OVERVIEW)
    assert response.context["traffic"].last_24h.requests == 1  # from the cache
    assert [f.record.request_id for f in response.context["failures"]] == [failed]
    clear_cache()
    assert staff_client.get(OVERVIEW).context["traffic"].last_24h.requests == 2


# --- The user's admin page ------------------------------------------------------------
def test_a_users_admin_page_shows_their_usage_and_wallet_with_links(staff_client, alice, bob):
    credit(org_id(alice), Decimal("5"), kind="adjustment", idempotency_key="alice-credit")
    credit(org_id(bob), Decimal("7"), kind="adjustment", idempotency_key="bob-credit")
    record(alice, cost_usd=Decimal("0.25"))
    record(alice, cost_usd=Decimal("0.5"), created_at=time.time() - 40 * 86400)
    record(bob, cost_usd=Decimal("3"))

    response = staff_client.get(f"/admin/accounts/user/{alice.pk}/change/")
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert 'data-testid="user-usage"' in html
    assert '<th scope="row">All time</th><td class="num">2</td><td class="num">0</td>' in html
    assert "$0.75" in html and "$3.00" not in html
    assert '<th scope="row">Today (UTC)</th><td class="num">1</td>' in html
    wallet = Wallet.objects.get(organization__personal_for=alice)
    assert wallet.balance_usd == Decimal("4.25")  # $5 credited, $0.75 charged
    assert "Balance $4.25 · held $0.00 · available $4.25" in visible_text(html)

    # The links open the ledger and the records filtered to this user only.
    ledger = staff_client.get(f"/admin/billing/ledgerentry/?wallet__id__exact={wallet.pk}")
    assert ledger.status_code == HTTPStatus.OK
    assert list(ledger.context["cl"].result_list) == list(wallet.entries.all())
    records = staff_client.get(f"/admin/usage/usagerecord/?user__id__exact={alice.pk}")
    assert records.status_code == HTTPStatus.OK
    assert {r.user_id for r in records.context["cl"].result_list} == {alice.pk}
    assert len(records.context["cl"].result_list) == 2


def test_the_user_admin_still_saves_the_users_limits(staff_client, alice):
    """The usage panel is read-only and does not get in the way of the form."""
    url = f"/admin/accounts/user/{alice.pk}/change/"
    form = staff_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        email=alice.email,
        rpm_limit="7",
        date_joined_0=alice.date_joined.strftime("%Y-%m-%d"),
        date_joined_1=alice.date_joined.strftime("%H:%M:%S"),
        is_active="on",
    )
    data.pop("password", None)
    data.pop("groups", None)
    data.pop("user_permissions", None)
    data.pop("last_login", None)
    data.pop("allowed_models", None)
    data.pop("date_joined", None)
    response = staff_client.post(url, data)
    assert response.status_code == HTTPStatus.FOUND, response.context["adminform"].form.errors
    alice.refresh_from_db()
    assert alice.rpm_limit == 7


def test_the_add_user_page_has_no_usage_panel(staff_client):
    response = staff_client.get("/admin/accounts/user/add/")
    assert response.status_code == HTTPStatus.OK
    assert b"user-usage" not in response.content


# --- OCR jobs and retrieval documents in the admin -------------------------------------
def test_ocr_jobs_are_listed_searchable_and_read_only(staff_client, alice, bob):
    now = timezone.now()
    job = OcrJob.objects.create(
        token="tok-invoice",
        owner=alice,
        filename="invoice.pdf",
        status="done",
        total_pages=4,
        pages_done=4,
        unit_price_usd=Decimal("0.01"),
        expires_at=now + timedelta(days=1),
    )
    OcrJob.objects.create(
        token="tok-other", owner=bob, filename="other.pdf", total_pages=1, expires_at=now
    )
    record(alice, request_id="ocr_tok-invoice_0", source="ocr", units=4, cost_usd=Decimal("0.04"))

    listing = staff_client.get("/admin/ocr/ocrjob/", {"q": "alice@example.com"})
    assert listing.status_code == HTTPStatus.OK
    assert [j.pk for j in listing.context["cl"].result_list] == [job.pk]
    html = listing.content.decode()
    assert "invoice.pdf" in html and "4/4" in html and "$0.01" in html
    assert (
        staff_client.get("/admin/ocr/ocrjob/", {"status__exact": "queued"})
        .context["cl"]
        .result_count
        == 1
    )

    detail = staff_client.get(f"/admin/ocr/ocrjob/{job.pk}/change/")
    assert detail.status_code == HTTPStatus.OK
    assert "$0.04" in detail.content.decode()
    assert b'name="_save"' not in detail.content
    assert staff_client.get("/admin/ocr/ocrjob/add/").status_code == HTTPStatus.FORBIDDEN
    delete = staff_client.post(f"/admin/ocr/ocrjob/{job.pk}/delete/", {"post": "yes"})
    assert delete.status_code == HTTPStatus.FORBIDDEN
    assert OcrJob.objects.filter(pk=job.pk).exists()


def test_retrieval_documents_are_listed_with_their_owner(staff_client, alice, bob):
    mine = Collection.objects.create(owner=alice, name="manuals")
    theirs = Collection.objects.create(owner=bob, name="notes")
    doc = Document.objects.create(
        collection=mine, filename="guide.pdf", mime_type="application/pdf", pages=12
    )
    Document.objects.create(collection=theirs, filename="notes.txt", mime_type="text/plain")

    listing = staff_client.get("/admin/retrieval/document/", {"q": "alice@example.com"})
    assert listing.status_code == HTTPStatus.OK
    assert [d.pk for d in listing.context["cl"].result_list] == [doc.pk]
    assert "guide.pdf" in listing.content.decode()
    detail = staff_client.get(f"/admin/retrieval/document/{doc.pk}/change/")
    assert detail.status_code == HTTPStatus.OK
    assert b"not charged" in detail.content
    collections = staff_client.get("/admin/retrieval/collection/")
    assert collections.status_code == HTTPStatus.OK
    assert "manuals" in collections.content.decode()
    assert staff_client.get(f"/admin/retrieval/collection/{mine.pk}/change/").status_code == 200


def test_non_staff_cannot_open_the_ocr_or_document_admin(client, alice):
    client.force_login(alice)
    for url in ("/admin/ocr/ocrjob/", "/admin/retrieval/document/"):
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith("/admin/login/")
