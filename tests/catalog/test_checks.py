"""``manage.py check --deploy`` says when a setting names a model the catalog cannot serve."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from catalog.checks import check_models_named_in_settings
from catalog.models import Deployment, Model, Provider

pytestmark = pytest.mark.django_db


def problems() -> list[str]:
    return [f"{p.id}: {p.msg}" for p in check_models_named_in_settings()]


def embedding_model(public_id: str = "checks/embed", **fields) -> Model:
    provider = Provider.objects.create(name="checks-provider", base_url="http://127.0.0.1:9/v1")
    model = Model.objects.create(public_id=public_id, type=Model.Type.EMBEDDING, **fields)
    Deployment.objects.create(model=model, provider=provider, upstream_model="embed")
    return model


@override_settings(RETRIEVAL_EMBEDDING_MODEL="")
def test_an_unset_embedding_model_names_nothing():
    assert problems() == []


@override_settings(RETRIEVAL_EMBEDDING_MODEL="checks/absent")
def test_an_embedding_model_the_catalog_lacks_is_an_error_check_deploy_shows():
    assert problems() == [
        "catalog.E001: RETRIEVAL_EMBEDDING_MODEL names the model 'checks/absent', "
        "which the catalog does not have."
    ]
    shown = run_checks(include_deployment_checks=True)
    assert "catalog.E001" in [p.id for p in shown]
    assert "catalog.E001" not in [p.id for p in run_checks()]  # deploy checks only


@override_settings(RETRIEVAL_EMBEDDING_MODEL="checks/chat")
def test_a_chat_model_is_not_an_embedding_model():
    Model.objects.create(public_id="checks/chat", type=Model.Type.LLM)
    assert problems() == [
        "catalog.E002: RETRIEVAL_EMBEDDING_MODEL names 'checks/chat', a model of type 'llm'; "
        "it must be of type 'embedding'."
    ]


@override_settings(RETRIEVAL_EMBEDDING_MODEL="checks/embed")
def test_a_model_nothing_serves_is_an_error():
    model = embedding_model()
    assert problems() == []
    Deployment.objects.filter(model=model).update(enabled=False)
    assert [p.split(":")[0] for p in problems()] == ["catalog.E003"]
    assert "has no enabled deployment" in problems()[0]
    Model.objects.filter(pk=model.pk).update(enabled=False)
    assert "is disabled" in problems()[0]
