"""Portico's own 404/403/400/500 pages, in the site's layout, also with DEBUG on (make
run's default); Django's technical pages only when DEBUG_ERROR_PAGES asks for them; /v1
keeps its JSON errors."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client

from tests.support.html import visible_text

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.portal.error_urls")]


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    settings.DEBUG_ERROR_PAGES = False
    return settings


def test_an_unknown_address_gets_portico_s_404_not_the_url_pattern_list(client, debug):
    response = client.get("/no/such/page/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    text = visible_text(response)
    assert "Page not found" in text and "/no/such/page/" in text
    assert "URLconf" not in text and "admin/" not in text
    assert 'class="topbar"' in response.content.decode()  # the site's layout


def test_a_view_s_404_for_something_deleted_gets_the_same_page(client, debug, alice):
    client.force_login(alice)

    response = client.get("/retrieval/col_deleted_just_now/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "Page not found" in visible_text(response)
    assert "No Collection matches" not in response.content.decode()
    assert 'id="primary-nav"' in response.content.decode()  # signed in: the whole layout


def test_a_crash_gets_portico_s_500_page_and_is_logged(client, debug, caplog):
    with caplog.at_level("ERROR", logger="django.request"):
        response = client.get("/crash/")

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert "Something went wrong on our side" in visible_text(response)
    assert "Traceback" not in response.content.decode()
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info and "a bug in a view" in str(record.exc_info[1])


@pytest.mark.parametrize(
    ("path", "status", "heading"),
    [
        ("/forbidden/", HTTPStatus.FORBIDDEN, "You cannot open this page"),
        ("/suspicious/", HTTPStatus.BAD_REQUEST, "That request could not be read"),
    ],
)
def test_refusals_get_portico_s_pages(client, debug, path, status, heading):
    response = client.get(path)
    assert response.status_code == status
    assert heading in visible_text(response)


def test_an_expired_form_says_so_in_the_site_s_layout(debug, alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)

    response = browser.post("/wallet/redeem/", {"code": "PORT-AAAA-BBBB-CCCC"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "This form has expired" in visible_text(response)
    assert "CSRF verification failed" not in response.content.decode()


def test_a_missing_slash_is_still_redirected(client, debug):
    response = client.get("/docs")
    assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert response["Location"] == "/docs/"


def test_the_api_keeps_its_json_errors(client, debug):
    response = client.get("/v1/no-such-route")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["error"]["type"] == "not_found_error"


def test_a_developer_can_ask_for_django_s_technical_pages(client, debug):
    debug.DEBUG_ERROR_PAGES = True

    assert "URLconf" in client.get("/no/such/page/").content.decode()
    with pytest.raises(RuntimeError):  # the test client re-raises what Django reports
        client.get("/crash/")


def test_without_debug_django_renders_the_same_templates(client, settings):
    settings.DEBUG = False
    response = client.get("/no/such/page/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "Page not found" in visible_text(response)


def test_the_footer_s_status_link_opens_a_page_people_read(client):
    page = client.get("/").content.decode()  # signed out: the login redirect's target
    response = client.get("/status/")

    assert response.status_code == HTTPStatus.OK
    assert "Portico is working" in visible_text(response)
    assert "Database" in visible_text(response) and "{" not in visible_text(response)
    assert 'href="/status/"' in client.get("/docs/").content.decode()
    assert page is not None
