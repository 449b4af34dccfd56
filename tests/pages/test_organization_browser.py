"""Issue 22's walk through the organization pages in a real Chromium, against the real
server: an owner creates a project with a budget and a member cap, invites a colleague,
who signs up from the mailed link, mints a key in the project and calls the API with the
official SDK; the owner sees the key's spend and the whole story in the audit log.

The member's cap then stops them with a 402 that names it."""

from __future__ import annotations

import re
from decimal import Decimal

import openai
import pytest

from accounts.models import ApiKey, Project, User
from accounts.org_rules import Actor, user_public_id
from accounts.project_members import modify_project_member
from billing.credits import credit
from tests.conftest import PASSWORD, screenshot
from tests.support.browser import mail_link, sign_in_as
from tests.support.processes import wait_for
from usage.drain import drain_usage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_owner_runs_a_project_with_a_colleague(
    browser, page, portico_server, mail_dir, local_models, alice
):
    server = portico_server.url
    sign_in_as(page, portico_server, alice)

    # The owner creates a project with a monthly budget and a member cap.
    page.goto(server + "/organization/projects/")
    page.get_by_label("Project name").fill("Search")
    page.get_by_label("Monthly budget (USD)").fill("20")
    page.get_by_label("Member cap (USD per month)").fill("2.50")
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("heading", name="Search", level=1).wait_for()
    project = Project.objects.get(name="Search")
    assert project.monthly_budget_usd == Decimal(20) and project.member_cap_usd == Decimal("2.5")
    screenshot(page, "organization-project")

    # A hostile budget is refused with the use case's message, nothing written.
    page.get_by_label("Monthly budget (USD)").fill("1e309")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_test_id("org-error").get_by_text("monthly_budget_usd").wait_for()
    project.refresh_from_db()
    assert project.monthly_budget_usd == Decimal(20)

    # … and invites a colleague into that project only.
    page.get_by_role("navigation", name="Organization").get_by_role("link", name="Members").click()
    page.get_by_label("E-mail address").fill("dana@example.com")
    page.get_by_role("checkbox", name="Default project").uncheck()
    page.get_by_role("checkbox", name="Search").check()
    page.get_by_role("button", name="Send invitation").click()
    page.locator("tr[data-invite='dana@example.com']").get_by_text("pending").wait_for()
    screenshot(page, "organization-members")

    # The colleague opens the mailed link in their own browser and signs up from it.
    found = mail_link(mail_dir, "dana@example.com", r"(?:https?://[^\s/]+)?/invites/[\w-]+/")
    link = server + re.sub(r"^https?://[^/]+", "", found)
    colleague = browser.new_context(viewport={"width": 1280, "height": 860})
    theirs = colleague.new_page()
    try:
        theirs.goto(link)
        theirs.get_by_text("alice@example.com invites dana@example.com").wait_for()
        theirs.get_by_role("link", name="Sign up with dana@example.com").click()
        theirs.locator("input[name=password1]").fill(PASSWORD)
        theirs.locator("input[name=password2]").fill(PASSWORD)
        theirs.get_by_role("button", name="Sign Up").click()
        theirs.wait_for_url(server + "/")
        theirs.get_by_text("You joined alice's organization.").wait_for()

        # They mint a key in the project (the only one they belong to) …
        theirs.goto(server + "/keys/")
        assert theirs.get_by_label("Project").input_value() == project.public_id
        theirs.get_by_label("Name", exact=True).fill("dana-search")
        theirs.get_by_role("button", name="Create key").click()
        secret = theirs.locator("#new-key-secret")
        secret.wait_for()
        secret = secret.input_value()
        card = theirs.locator("article.key-card", has_text="dana-search")
        assert card.get_by_test_id("key-project").inner_text().endswith("Search")
        screenshot(theirs, "organization-colleague-key")
    finally:
        colleague.close()
    dana = User.objects.get(email="dana@example.com")
    key = ApiKey.objects.get(name="dana-search")
    assert (key.project, key.owner) == (project, dana)

    # … and call the API with it: the organization's wallet pays (the owner funded it).
    credit(
        project.organization_id,
        Decimal("5"),
        kind="adjustment",
        idempotency_key=f"org-walk:{project.organization_id}",
    )
    client = openai.OpenAI(api_key=secret, base_url=server + "/v1", max_retries=0, timeout=20)
    wait_for(
        lambda: "portico/test-chat" in {m.id for m in client.models.list().data},
        timeout=10,
        what="the server to see the test catalog",
    )
    reply = client.chat.completions.create(
        model="portico/test-chat", messages=[{"role": "user", "content": "Hello!"}]
    )
    assert reply.choices[0].message.content
    drain_usage()

    # The owner gives the colleague a cap their next request would pass: a 402 names it.
    modify_project_member(
        Actor(user=alice),
        project.organization,
        project.public_id,
        user_public_id(dana.pk),
        {"cap_usd": "0.0001"},
    )
    # (The server's copy of the key's settings is at most a second old.)
    refusals: list[openai.APIStatusError] = []

    def refused_by_the_cap() -> bool:
        try:
            client.chat.completions.create(
                model="portico/test-chat", messages=[{"role": "user", "content": "Again!"}]
            )
        except openai.APIStatusError as refused:
            refusals.append(refused)
            return True
        return False

    wait_for(refused_by_the_cap, timeout=10, what="the member's cap to stop the colleague")
    assert refusals[-1].status_code == 402
    assert refusals[-1].body["code"] == "member_cap_exceeded", refusals[-1].body
    assert "cap" in refusals[-1].body["message"].lower()

    # The owner sees the key, who made it and its spend, and the audit log tells it all.
    page.goto(server + f"/organization/projects/{project.public_id}/")
    row = page.locator("tr[data-key='dana-search']")
    assert "dana@example.com" in row.inner_text()
    assert re.search(r"\$\d", row.locator("td").nth(1).inner_text())
    page.get_by_role("navigation", name="Organization").get_by_role(
        "link", name="Audit log"
    ).click()
    page.wait_for_url(re.compile(r".*/organization/audit/$"))
    log = page.locator("table.audit-table")
    log.locator("tr[data-type='api_key.created']").first.wait_for()
    for event in (
        "project.created",
        "invite.sent",
        "invite.accepted",
        "api_key.created",
    ):
        assert log.locator(f"tr[data-type='{event}']").count() >= 1, event
    assert "dana@example.com" in log.locator("tr[data-type='api_key.created']").first.inner_text()
    page.get_by_label("Event").select_option("api_key.created")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*type=api_key.created.*"))
    assert page.locator("table.audit-table tbody tr").count() == 1
    screenshot(page, "organization-audit")
