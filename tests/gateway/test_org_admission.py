"""A project key is admitted by its organization and project too: their allowlists, the
organization's limits, the project's per-model limits and budgets; an archived project's
keys stop; /v1/wallet and /v1/usage name the organization and project."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import httpx
import pytest

from accounts.models import ProjectRateLimit
from billing.credits import credit
from tests.support.orgs import key_in, team_project
from tests.support.processes import wait_for

BODY = {"model": "fake-llm", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


@pytest.fixture
def team(server, bob, charlie):
    project = team_project(bob, charlie)
    credit(project.organization_id, Decimal(5), kind="adjustment", idempotency_key="team-fund")
    return project


def chat(server, secret: str, body: dict = BODY) -> httpx.Response:
    return httpx.post(
        server.url + "/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {secret}"},
        timeout=30,
    )


def error_of(response: httpx.Response) -> dict:
    return response.json()["error"]


def test_the_organizations_allowlist_refuses_first_and_says_so(server, team, charlie):
    org = team.organization
    org.allowed_models = ["free-llm"]
    org.save()
    team.allowed_models = ["free-llm"]
    team.save()
    key = key_in(team, charlie)

    response = chat(server, key.secret)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert error_of(response)["code"] == "model_not_allowed"
    assert error_of(response)["message"].startswith(
        "Your organization may not use the model 'fake-llm'."
    )
    assert response.headers["x-ratelimit-limit-requests"]


def test_the_projects_allowlist_refuses_and_says_so(server, team, charlie):
    team.allowed_models = ["free-llm"]
    team.save()
    key = key_in(team, charlie)

    refused = chat(server, key.secret)
    allowed = chat(server, key.secret, {**BODY, "model": "free-llm"})

    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert error_of(refused)["message"].startswith("This project may not use the model 'fake-llm'.")
    assert allowed.status_code == HTTPStatus.OK


def test_a_projects_per_model_limit_answers_429_with_the_tightest_headers(server, team, charlie):
    ProjectRateLimit.objects.create(project=team, model="fake-llm", max_requests_per_1_minute=2)
    key = key_in(team, charlie, rpm_limit=50)

    answers = [chat(server, key.secret) for _ in range(3)]
    other_model = chat(server, key.secret, {**BODY, "model": "free-llm"})

    assert [a.status_code for a in answers] == [200, 200, 429]
    first, refused = answers[0], answers[2]
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert "this project's use of 'fake-llm'" in error_of(refused)["message"]
    assert other_model.status_code == HTTPStatus.OK  # the limit is per model


def test_the_organizations_limit_counts_every_key_of_it(server, team, bob, charlie):
    org = team.organization
    org.rpm_limit = 2
    org.save()
    first, second = key_in(team, bob), key_in(team, charlie)

    codes = [chat(server, first.secret).status_code, chat(server, second.secret).status_code]
    refused = chat(server, second.secret)

    assert codes == [200, 200]
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "for your organization" in error_of(refused)["message"]


def test_a_project_budget_refuses_with_402_naming_it(server, team, charlie):
    team.monthly_budget_usd = Decimal("0.000001")
    team.save()
    key = key_in(team, charlie)

    response = chat(server, key.secret)

    assert response.status_code == HTTPStatus.PAYMENT_REQUIRED
    assert error_of(response)["code"] == "project_budget_exceeded"
    assert "This project's monthly budget" in error_of(response)["message"]


def test_a_member_cap_refuses_with_402_naming_it(server, team, charlie):
    team.member_cap_usd = Decimal("0.000001")
    team.save()
    key = key_in(team, charlie)

    response = chat(server, key.secret)

    assert response.status_code == HTTPStatus.PAYMENT_REQUIRED
    assert error_of(response)["code"] == "member_cap_exceeded"
    assert "Your monthly cap" in error_of(response)["message"]


def test_archiving_a_project_stops_its_keys_at_once(server, team, charlie):
    key = key_in(team, charlie)
    assert chat(server, key.secret).status_code == HTTPStatus.OK

    team.status = team.Status.ARCHIVED
    team.save()

    refused = wait_for(
        lambda: (r := chat(server, key.secret)).status_code == HTTPStatus.UNAUTHORIZED and r,
        timeout=5,
        what="the archived project's key to be refused",
    )
    assert error_of(refused)["code"] == "project_archived"


def test_wallet_and_usage_name_the_organization_and_project(server, team, charlie):
    key = key_in(team, charlie, scopes=["chat", "usage"])
    headers = {"Authorization": f"Bearer {key.secret}"}
    request_id = chat(server, key.secret).headers["x-request-id"]

    wallet = httpx.get(server.url + "/v1/wallet", headers=headers).json()
    usage = httpx.get(server.url + "/v1/usage", headers=headers).json()

    assert wallet["organization"] == team.organization.public_id
    assert wallet["project"] == team.public_id
    assert Decimal(wallet["balance_usd"]) <= 5
    assert usage["organization"] == team.organization.public_id
    assert usage["project"] == team.public_id
    [item] = [i for i in usage["data"] if i["request_id"] == request_id]
    assert item["project"] == team.public_id
    assert item["organization"] == team.organization.public_id
