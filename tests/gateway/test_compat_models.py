"""GET /v1/models/{id}: the official SDK's ``models.retrieve``, slash ids included."""

from __future__ import annotations

from http import HTTPStatus

import httpx
import openai
import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_sdk_retrieves_a_model_whose_id_has_a_slash(client):
    model = client.models.retrieve("portico/test-chat")
    assert (model.id, model.object, model.type) == ("portico/test-chat", "model", "llm")


def test_a_retrieved_model_is_the_same_object_as_its_list_entry(client):
    listed = {m.id: m.model_dump() for m in client.models.list().data}
    for model_id in ("fake-llm", "fake-embed", "portico/test-chat"):
        assert client.models.retrieve(model_id).model_dump() == listed[model_id]


def test_a_model_is_retrievable_as_provider_slash_model(client):
    assert client.models.retrieve("fake/fake-llm").id == "fake-llm"


def test_an_unknown_model_is_404_model_not_found(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("no-such/model")
    assert caught.value.code == "model_not_found"
    assert caught.value.body["type"] == "not_found_error"


def test_a_model_the_key_may_not_use_is_404_as_if_it_did_not_exist(client_for, make_key):
    client = client_for(make_key(models=["fake-llm"]))
    assert client.models.retrieve("fake-llm").id == "fake-llm"
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("portico/test-chat")
    assert caught.value.code == "model_not_found"


def test_retrieving_a_model_needs_the_models_scope(client_for, make_key):
    client = client_for(make_key(scopes=["chat"]))
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.models.retrieve("fake-llm")
    assert caught.value.code == "missing_scope"


def test_the_catalog_route_still_answers_the_catalog(server, make_key):
    response = httpx.get(
        server.url + "/api/v1/models/catalog",
        headers={"Authorization": f"Bearer {make_key()}"},
    )
    assert response.status_code == HTTPStatus.OK
    assert response.json()["object"] == "list"
    assert response.headers["x-request-id"].startswith("req_")


def test_a_percent_encoded_slash_finds_the_model_too(server, make_key):
    response = httpx.get(
        server.url + "/v1/models/portico%2Ftest-chat",
        headers={"Authorization": f"Bearer {make_key()}"},
    )
    assert response.status_code == HTTPStatus.OK
    assert response.json()["id"] == "portico/test-chat"
