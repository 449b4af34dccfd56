from __future__ import annotations

import httpx
import pytest

from tests.support.processes import PorticoServer, child_env


@pytest.mark.django_db
def test_github_and_google_sign_in_appear_only_when_configured(client):
    assert b"GitHub" not in client.get("/accounts/login/").content

    server = PorticoServer(
        child_env(
            GITHUB_CLIENT_ID="gh-id",
            GITHUB_CLIENT_SECRET="gh-secret",
            GOOGLE_CLIENT_ID="g-id",
            GOOGLE_CLIENT_SECRET="g-secret",
        )
    )
    try:
        server.wait_ready()
        page = httpx.get(server.url + "/accounts/login/").text
        redirect = httpx.get(server.url + "/accounts/github/login/?process=login")
    finally:
        server.stop()
    assert "GitHub" in page and "Google" in page
    # allauth asks for a POST before leaving for the provider (no login CSRF by link).
    assert redirect.status_code == 200
