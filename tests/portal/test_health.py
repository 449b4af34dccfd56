from __future__ import annotations

from http import HTTPStatus

import httpx
import pytest

from tests.support.processes import PorticoServer, child_env


def test_healthz_answers_while_the_process_is_up(client):
    response = client.get("/healthz")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_every_part_ok(client):
    response = client.get("/readyz")
    assert response.status_code == HTTPStatus.OK
    assert response.json()["checks"] == {
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
        "ocr": "ok",
    }


def start_server_with(**env: str) -> PorticoServer:
    server = PorticoServer(child_env(READYZ_TIMEOUT_SECONDS="1", **env))
    server.wait_ready()
    return server


@pytest.mark.django_db
def test_readyz_names_an_unreachable_database():
    server = start_server_with(
        DATABASE_URL="postgres://nobody@127.0.0.1:9/portico", SQLITE_PATH="", DB_POOL_MAX="0"
    )
    try:
        assert httpx.get(server.url + "/healthz").status_code == HTTPStatus.OK
        response = httpx.get(server.url + "/readyz", timeout=30)
    finally:
        server.stop()
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["failing"] == ["database"]


@pytest.mark.django_db
def test_readyz_names_an_unreachable_broker():
    server = start_server_with(CELERY_BROKER_URL="redis://127.0.0.1:9/0")
    try:
        response = httpx.get(server.url + "/readyz", timeout=30)
    finally:
        server.stop()
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["database"] == "ok"
