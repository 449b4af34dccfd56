"""The catalog admin: write-only provider keys, and bulk actions that reach the gateway."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core.cache import cache

from accounts.models import User
from catalog.models import Deployment, Model, Provider
from catalog.snapshots import CATALOG_VERSION_KEY

pytestmark = pytest.mark.django_db

RAW_KEY = "gsk-very-secret-value-123"


@pytest.fixture
def admin_client(client):
    admin = User.objects.create_superuser(email="root@example.com", password="x-password-1")
    client.force_login(admin)
    return client


@pytest.fixture
def groq() -> Provider:
    provider = Provider(name="groq", label="Groq", base_url="https://api.groq.com/openai/v1")
    provider.set_api_key(RAW_KEY)
    provider.save()
    return provider


def change_form(provider: Provider, **overrides) -> dict:
    data = {
        "name": provider.name,
        "label": provider.label,
        "kind": provider.kind,
        "base_url": provider.base_url,
        "extra_headers": "{}",
        "connect_timeout": provider.connect_timeout,
        "first_byte_timeout": provider.first_byte_timeout,
        "total_timeout": provider.total_timeout,
        "enabled": "on",
        "api_key": "",
    }
    return data | overrides


def test_the_provider_page_never_shows_the_stored_key(admin_client, groq):
    response = admin_client.get(f"/admin/catalog/provider/{groq.pk}/change/")

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert RAW_KEY not in page
    assert groq.api_key_encrypted not in page
    assert 'name="api_key"' in page
    assert '<div class="readonly">set</div>' in page

    listing = admin_client.get("/admin/catalog/provider/").content.decode()
    assert RAW_KEY not in listing and groq.api_key_encrypted not in listing


def test_posting_a_new_key_stores_it_encrypted(admin_client, groq):
    url = f"/admin/catalog/provider/{groq.pk}/change/"

    response = admin_client.post(url, change_form(groq, api_key="gsk-rotated-456"))

    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    groq.refresh_from_db()
    assert groq.get_api_key() == "gsk-rotated-456"
    assert "gsk-rotated-456" not in groq.api_key_encrypted
    assert "gsk-rotated-456" not in admin_client.get(url).content.decode()


def test_a_blank_key_field_keeps_the_stored_key_and_clearing_removes_it(admin_client, groq):
    url = f"/admin/catalog/provider/{groq.pk}/change/"

    admin_client.post(url, change_form(groq, label="Groq Cloud"))
    groq.refresh_from_db()
    assert (groq.label, groq.get_api_key()) == ("Groq Cloud", RAW_KEY)

    admin_client.post(url, change_form(groq, clear_api_key="on"))
    groq.refresh_from_db()
    assert not groq.has_api_key


def test_a_provider_can_be_added_with_its_key(admin_client):
    new = Provider(name="deepseek", base_url="https://api.deepseek.com/v1")

    response = admin_client.post(
        "/admin/catalog/provider/add/", change_form(new, api_key="sk-deepseek")
    )

    assert response.status_code == HTTPStatus.FOUND
    assert Provider.objects.get(name="deepseek").get_api_key() == "sk-deepseek"


def test_the_disable_action_disables_models_and_bumps_the_catalog_version(
    admin_client, groq, settings
):
    settings.REDIS_URL = settings.REDIS_URL or "redis://unused"  # make the version shared
    model = Model.objects.create(public_id="llama-3.3-70b", type="llm")
    Deployment.objects.create(model=model, provider=groq, upstream_model="llama-3.3-70b-versatile")
    cache.set(CATALOG_VERSION_KEY, "before", None)

    response = admin_client.post(
        "/admin/catalog/model/",
        {"action": "disable_selected", "_selected_action": [model.pk]},
    )

    assert response.status_code == HTTPStatus.FOUND
    model.refresh_from_db()
    assert not model.enabled
    assert cache.get(CATALOG_VERSION_KEY) != "before"


def test_the_model_pages_render_with_their_deployments(admin_client, groq):
    model = Model.objects.create(public_id="llama-3.3-70b", type="llm", name="Llama")
    Deployment.objects.create(model=model, provider=groq, upstream_model="llama-3.3-70b-versatile")

    listing = admin_client.get(
        "/admin/catalog/model/?deployments__provider__id__exact=" + str(groq.pk)
    )
    page = admin_client.get(f"/admin/catalog/model/{model.pk}/change/")
    deployments = admin_client.get("/admin/catalog/deployment/")

    assert listing.status_code == page.status_code == deployments.status_code == HTTPStatus.OK
    assert "llama-3.3-70b" in listing.content.decode()
    assert "llama-3.3-70b-versatile" in page.content.decode()
    assert RAW_KEY not in page.content.decode()
