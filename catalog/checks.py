"""System checks the catalog can answer (``manage.py check --deploy``): a setting that
names a catalog model must name one the catalog has, of the right type, that something
can serve. Settings name models by public id; the catalog lives in the database, so
these run with the deployment checks, once the database is migrated."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError

from catalog.models import Deployment, Model

# Settings that name a model, and the type it must be. An unset setting names nothing.
MODEL_SETTINGS = {"RETRIEVAL_EMBEDDING_MODEL": Model.Type.EMBEDDING}


def model_setting_problems(setting: str, wanted: str) -> list:
    public_id = getattr(settings, setting, "") or ""
    if not public_id:
        return []
    model = Model.objects.filter(public_id=public_id).first()
    hint = "Load it (manage.py load_catalog) or add it in the admin, or change the setting."
    if model is None:
        return [
            Error(
                f"{setting} names the model {public_id!r}, which the catalog does not have.",
                hint=hint,
                id="catalog.E001",
            )
        ]
    if model.type != wanted:
        return [
            Error(
                f"{setting} names {public_id!r}, a model of type {model.type!r}; it must be "
                f"of type {str(wanted)!r}.",
                hint="Name a model of that type.",
                id="catalog.E002",
            )
        ]
    served = Deployment.objects.filter(model=model, enabled=True, provider__enabled=True)
    if not model.enabled or not served.exists():
        why = "is disabled" if not model.enabled else "has no enabled deployment"
        return [
            Error(
                f"{setting} names {public_id!r}, which {why}: every request would fail.",
                hint="Enable the model and a deployment of it on an enabled provider.",
                id="catalog.E003",
            )
        ]
    return []


@register(Tags.models, deploy=True)
def check_models_named_in_settings(app_configs=None, **kwargs) -> list:
    try:
        return [
            problem
            for setting, wanted in MODEL_SETTINGS.items()
            for problem in model_setting_problems(setting, wanted)
        ]
    except DatabaseError as exc:
        return [
            Warning(
                f"The catalog could not be read to check the model settings ({exc}).",
                hint="Run manage.py migrate, then check again.",
                id="catalog.W001",
            )
        ]
