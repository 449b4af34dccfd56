"""The catalog's sort and type controls in a real Chromium, with and without JavaScript."""

from __future__ import annotations

import pytest

from tests.conftest import screenshot, serve_portico
from tests.pages.test_models_usage_browser import sign_in, world  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def portico_server(django_db_setup, mail_dir):
    """A server of this module's own (see ``serve_portico``): the shared one may hold
    content types or a catalog snapshot cached before an earlier module's flush."""
    yield from serve_portico(mail_dir)


ROWS = "#model-results tbody tr"


def listed(page) -> list[str]:
    return page.locator(f"{ROWS} th a").all_inner_texts()


def wait_for_order(page, ids: list[str]) -> None:
    expected = "|".join(ids)
    page.wait_for_function(
        f"() => [...document.querySelectorAll('{ROWS} th a')]"
        f".map(a => a.textContent.trim()).join('|') === {expected!r}"
    )


def test_the_catalog_sorts_and_filters_by_type_in_place(page, portico_server, world):  # noqa: F811
    sign_in(page, portico_server, "dana@example.com")
    page.goto(portico_server.url + "/models/")
    assert listed(page) == [
        "llama-3.3-70b",
        "openai/gpt-5-mini",
        "portico/test-chat",
        "portico/test-embedding",
    ]

    page.get_by_label("Sort by").select_option("price")
    wait_for_order(
        page,
        ["portico/test-embedding", "openai/gpt-5-mini", "portico/test-chat", "llama-3.3-70b"],
    )
    assert "sort=price" in page.url  # a shareable link

    page.get_by_label("Sort by").select_option("latency")
    # Measured in the last 24 h: gpt-5-mini (~315 ms), test-chat (330 ms); no traffic last.
    wait_for_order(
        page,
        ["openai/gpt-5-mini", "portico/test-chat", "llama-3.3-70b", "portico/test-embedding"],
    )
    page.get_by_label("Type").select_option("llm")
    wait_for_order(page, ["openai/gpt-5-mini", "portico/test-chat", "llama-3.3-70b"])
    assert "type=llm" in page.url and "sort=latency" in page.url
    screenshot(page, "models-sorted")

    # The shared link opens the same view.
    page.goto(page.url)
    assert listed(page) == ["openai/gpt-5-mini", "portico/test-chat", "llama-3.3-70b"]
    assert page.get_by_label("Sort by").input_value() == "latency"

    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_label("Sort by").wait_for()
    screenshot(page, "models-sorted-phone")


def test_sorting_works_without_javascript(browser, portico_server, world):  # noqa: F811
    context = browser.new_context(
        viewport={"width": 1280, "height": 860}, java_script_enabled=False
    )
    page = context.new_page()
    try:
        sign_in(page, portico_server, "dana@example.com")
        page.goto(portico_server.url + "/models/")
        page.get_by_label("Sort by").select_option("price")
        page.get_by_label("Type").select_option("llm")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url("**sort=price**")
        assert listed(page) == ["openai/gpt-5-mini", "portico/test-chat", "llama-3.3-70b"]

        reply = page.goto(portico_server.url + "/models/?sort=bogus&type=%F0%9F%98%80&q=%E2%80%AE")
        assert reply.status == 200
        assert page.get_by_role("heading", name="Models").is_visible()
        assert page.get_by_label("Sort by").input_value() == ""  # unknown: back to by name
        # A NUL never reaches the view: the server's URL guard answers a plain 400.
        assert page.goto(portico_server.url + "/models/?sort=%00").status == 400
    finally:
        context.close()
