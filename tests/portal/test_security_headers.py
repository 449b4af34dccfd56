"""Pages carry a Content-Security-Policy that lets no inline script run, and the usual
hardening headers."""

from __future__ import annotations

from http import HTTPStatus

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/"])
def test_pages_forbid_inline_script(client, path):
    response = client.get(path)
    assert response.status_code == HTTPStatus.OK
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert b"<script>" not in response.content, "no inline script in the layout"


def test_signed_in_pages_have_no_inline_script(client, alice):
    client.force_login(alice)
    for path in (
        "/",
        "/keys/",
        "/usage/",
        "/wallet/",
        "/models/",
        "/ocr/",
        "/playground/",
        "/docs/",
    ):
        body = client.get(path).content
        assert b"<script>" not in body, path
