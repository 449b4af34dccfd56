"""``manage.py check --deploy`` says what a production configuration got wrong."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.test import override_settings

from portal.checks import check_production_secret_and_hosts, check_s3_storage
from portal.settings.base import DEVELOPMENT_SECRET_KEY
from tests.support.processes import ROOT, child_env

GOOD_SECRET = "s" * 60
S3 = "storages.backends.s3.S3Storage"


def ids(problems) -> list[str]:
    return [p.id for p in problems]


def s3(**options) -> dict:
    return {
        "default": {"BACKEND": S3, "OPTIONS": {"bucket_name": "portico", **options}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@override_settings(DEBUG=False, SECRET_KEY=GOOD_SECRET, API_KEY_SECRET=GOOD_SECRET)
def test_production_must_name_its_hosts():
    with override_settings(ALLOWED_HOSTS=["portico.example.com"]):
        assert check_production_secret_and_hosts() == []
    with override_settings(ALLOWED_HOSTS=[]):
        assert ids(check_production_secret_and_hosts()) == ["portal.E002"]
    with override_settings(ALLOWED_HOSTS=["localhost", "127.0.0.1", "[::1]", "testserver"]):
        [problem] = check_production_secret_and_hosts()
        assert problem.id == "portal.E003"
        assert "ALLOWED_HOSTS names only this machine" in problem.msg


@override_settings(DEBUG=False, ALLOWED_HOSTS=["portico.example.com"])
def test_production_may_not_use_the_published_development_key():
    with override_settings(SECRET_KEY=DEVELOPMENT_SECRET_KEY, API_KEY_SECRET=GOOD_SECRET):
        [problem] = check_production_secret_and_hosts()
        assert (problem.id, problem.msg.split()[0]) == ("portal.E001", "SECRET_KEY")
    with override_settings(SECRET_KEY=GOOD_SECRET, API_KEY_SECRET=DEVELOPMENT_SECRET_KEY):
        [problem] = check_production_secret_and_hosts()
        assert problem.msg.startswith("API_KEY_SECRET")


@override_settings(DEBUG=True, ALLOWED_HOSTS=[], SECRET_KEY=DEVELOPMENT_SECRET_KEY)
def test_a_local_run_is_not_production():
    assert check_production_secret_and_hosts() == []


def test_s3_storage_needs_a_bucket_and_both_halves_of_its_credentials(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    with override_settings(STORAGES=s3(bucket_name="")):
        assert ids(check_s3_storage()) == ["portal.E004"]
    with override_settings(STORAGES=s3(access_key="AKIA", secret_key=None)):
        [problem] = check_s3_storage()
        assert problem.id == "portal.E005"
        assert "STORAGE_SECRET_ACCESS_KEY is not" in problem.msg
    with override_settings(STORAGES=s3()):
        assert ids(check_s3_storage()) == ["portal.W001"]
    monkeypatch.setenv("AWS_PROFILE", "portico")
    with override_settings(STORAGES=s3()):
        assert check_s3_storage() == []  # boto3 finds the profile's credentials
    with override_settings(STORAGES=s3(access_key="AKIA", secret_key="secret")):
        assert check_s3_storage() == []


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    environment = child_env(**env)
    for name in ("ALLOWED_HOSTS", "RETRIEVAL_EMBEDDING_MODEL", "STORAGE_SECRET_ACCESS_KEY"):
        if name not in env:
            environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.django_db
def test_check_deploy_names_each_mistake_of_a_production_configuration():
    missing = check_deploy(DEBUG="0", SECRET_KEY="")
    assert missing.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in missing.stderr

    wrong = check_deploy(
        DEBUG="0",
        SECRET_KEY=DEVELOPMENT_SECRET_KEY,
        STORAGE_BUCKET="portico-files",
        STORAGE_ACCESS_KEY_ID="AKIAEXAMPLE",
    )
    assert wrong.returncode != 0
    said = wrong.stdout + wrong.stderr
    for expected in (
        "portal.E001) SECRET_KEY is the development key",
        "portal.E003) ALLOWED_HOSTS names only this machine",
        "portal.E005) STORAGE_ACCESS_KEY_ID is set but STORAGE_SECRET_ACCESS_KEY is not",
    ):
        assert expected in said, said
