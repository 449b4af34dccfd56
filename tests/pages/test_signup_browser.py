from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, screenshot
from tests.support.browser import sign_up_and_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_user_signs_up_confirms_and_sees_the_dashboard(page, portico_server, mail_dir):
    page.goto(portico_server.url + "/accounts/signup/")
    screenshot(page, "signup")
    sign_up_and_sign_in(page, portico_server, mail_dir, "erin@example.com", PASSWORD)

    assert page.get_by_role("heading", name="Welcome, erin").is_visible()
    nav = page.get_by_role("navigation", name="Primary")
    for label in ("Dashboard", "Keys", "Models", "Usage", "Wallet", "OCR", "Playground", "Docs"):
        assert nav.get_by_role("link", name=label).is_visible()
    screenshot(page, "dashboard")


def test_every_navigation_link_opens_a_page(page, portico_server, mail_dir):
    sign_up_and_sign_in(page, portico_server, mail_dir, "frank@example.com", PASSWORD)
    nav = page.get_by_role("navigation", name="Primary")
    labels = [link.inner_text() for link in nav.get_by_role("link").all()]
    for label in labels:
        response = None
        with page.expect_navigation() as navigation:
            page.get_by_role("navigation", name="Primary").get_by_role("link", name=label).click()
        response = navigation.value
        assert response.status == 200, f"{label} answered {response.status}"
        assert page.get_by_role("heading", level=1).first.is_visible()


def test_the_layout_fits_a_phone(page, portico_server, mail_dir):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_up_and_sign_in(page, portico_server, mail_dir, "gina@example.com", PASSWORD)
    menu = page.get_by_role("button", name="Menu")
    assert menu.is_visible()
    menu.click()
    assert (
        page.get_by_role("navigation", name="Primary")
        .get_by_role("link", name="Usage")
        .is_visible()
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    screenshot(page, "dashboard-phone")
