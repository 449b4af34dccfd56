"""The playground in a real browser against the real server and a slow fake upstream:
progressive rendering, Stop, exact costs, right-to-left text, safe Markdown, compare."""

from __future__ import annotations

import ast
import json
import re
import subprocess
from decimal import Decimal

import pytest

from accounts.models import User
from billing.credits import credit
from billing.wallets import wallet_summary
from catalog.models import Deployment, Model, Provider
from fakeupstream import FakeUpstream, completion_text
from ground.money import exact_usd, format_cost, format_usd
from tests.conftest import PASSWORD, screenshot
from tests.support.browser import sign_up_and_sign_in
from tests.support.orgs import org_id
from tests.support.processes import wait_for
from usage.drain import discard_pending_events, drain_usage
from usage.models import UsageRecord

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAST_REPLY = """(pane) => {
  const replies = document.querySelectorAll(`[data-pane="${pane}"] .pg-assistant`);
  const reply = replies[replies.length - 1];
  if (!reply) return null;
  return {
    length: reply.querySelector(".pg-body").textContent.length,
    busy: reply.getAttribute("aria-busy") === "true",
  };
}"""


@pytest.fixture(scope="module")
def upstream():
    up = FakeUpstream.start()
    try:
        yield up
    finally:
        up.stop()


@pytest.fixture
def page_expecting_402(browser):
    """Like ``page``, except that Chromium's log line for the expected 402 is allowed."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    unexpected = [e for e in errors if "status of 402 (Payment Required)" not in e]
    assert not unexpected, f"JavaScript errors on the page: {unexpected}"


def add_model(
    public_id: str, provider: Provider, upstream_model: str, price_in: str, price_out: str
):
    model = Model.objects.create(
        public_id=public_id,
        input_price_per_1m=Decimal(price_in),
        output_price_per_1m=Decimal(price_out),
    )
    Deployment.objects.create(model=model, provider=provider, upstream_model=upstream_model)


@pytest.fixture
def slow_catalog(transactional_db, upstream):
    """Two priced models on the fake upstream, streaming 40 tokens 60 ms apart, and the
    built-in test model (its reply has Arabic in it)."""
    upstream.reset()
    upstream.configure(token_interval_ms=60, completion_tokens=40)
    discard_pending_events()
    fake = Provider.objects.create(
        name="fake", kind="openai", base_url=upstream.url + "/v1", first_byte_timeout=5
    )
    local = Provider.objects.create(name="local", kind="local")
    add_model("slow-llm", fake, "fake-llm", "1", "2")
    add_model("slow-llm-2", fake, "fake-llm-2", "3", "15")
    add_model("portico/test-chat", local, "test-chat", "0.5", "1.5")
    yield upstream
    upstream.reset()


def signed_in_and_funded(page, server, mail_dir, email: str) -> User:
    sign_up_and_sign_in(page, server, mail_dir, email, PASSWORD)
    user = User.objects.get(email=email)
    credit(org_id(user), Decimal("5"), kind="adjustment", idempotency_key=f"test-fund:{email}")
    return user


def drained_records_of(email: str) -> list[UsageRecord]:
    drain_usage()
    return list(UsageRecord.objects.filter(user__email=email))


def open_playground(page, server, model_id: str = "slow-llm") -> None:
    """The server reloads its catalog within about a second: wait until it offers the model."""

    def offered() -> bool:
        page.goto(server.url + "/playground/")
        return page.locator(f'#pg-model-0 option[value="{model_id}"]').count() == 1

    wait_for(offered, timeout=10, interval=0.25, what=f"the playground to offer {model_id}")
    page.get_by_label("Model", exact=True).select_option(model_id)


def send(page, prompt: str) -> None:
    box = page.get_by_label("Message")
    box.fill(prompt)
    box.press("Enter")


def wait_for_reply(page, pane: int = 0, timeout: float = 20) -> None:
    wait_for(
        lambda: (reply := page.evaluate(LAST_REPLY, pane)) and not reply["busy"],
        timeout=timeout,
        what="the reply to finish",
    )


def displayed_cost(page, pane: int = 0) -> Decimal:
    cost = page.locator(f'[data-pane="{pane}"] .pg-assistant [data-stat="cost"]').last
    wait_for(lambda: cost.get_attribute("data-cost-usd"), timeout=10, what="the cost")
    value = cost.get_attribute("data-cost-usd")
    assert cost.inner_text() == format_cost(value)  # one request: significant digits
    assert cost.get_attribute("title") == exact_usd(value)
    return Decimal(value)


def test_a_reply_is_painted_while_it_streams_and_costs_exactly_what_the_wallet_loses(
    page, portico_server, mail_dir, slow_catalog
):
    user = signed_in_and_funded(page, portico_server, mail_dir, "pia@example.com")
    open_playground(page, portico_server)
    before = Decimal(wallet_summary(org_id(user))["balance_usd"])
    assert page.locator("[data-wallet-balance]").inner_text() == format_usd(
        wallet_summary(org_id(user))["balance_usd"]
    )

    assert not page.get_by_label("Compare with").is_visible()

    send(page, "Tell me a story")
    partial_lengths: list[int] = []

    def finished() -> bool:
        reply = page.evaluate(LAST_REPLY, 0)
        painting = reply and reply["busy"] and reply["length"]
        if painting and (not partial_lengths or reply["length"] != partial_lengths[-1]):
            partial_lengths.append(reply["length"])
        return bool(reply) and not reply["busy"]

    wait_for(finished, timeout=20, interval=0.02, what="the streamed reply")
    reply = page.locator('[data-pane="0"] .pg-assistant .pg-body').last
    final_text = reply.inner_text().strip()
    assert final_text == completion_text(40).strip()
    partials = [n for n in partial_lengths if n < len(final_text)]
    assert len(set(partials)) >= 3, f"painted only {partial_lengths} before the end"
    assert partials == sorted(partials)

    cost = displayed_cost(page)
    drain_usage()
    after = wallet_summary(org_id(user))["balance_usd"]
    assert before - Decimal(after) == cost
    balance = page.locator("[data-wallet-balance]")
    assert balance.inner_text() == format_usd(after)  # a balance: cents
    assert balance.get_attribute("title") == exact_usd(after)
    [record] = UsageRecord.objects.filter(user=user)
    assert (record.source, record.api_key_id, record.status) == ("playground", None, "ok")
    assert record.cost_usd == cost and record.completion_tokens == 40

    stats = page.locator('[data-pane="0"] .pg-assistant .pg-stats').last
    assert re.fullmatch(r"\d+ ms", stats.locator('[data-stat="ttft"]').inner_text())
    assert re.fullmatch(r"[\d.]+ tok/s", stats.locator('[data-stat="speed"]').inner_text())
    assert stats.locator('[data-stat="tokens"]').inner_text() == (
        f"{record.prompt_tokens} in · 40 out"
    )
    screenshot(page, "playground")


def test_stop_cancels_the_upstream_request_and_bills_what_was_produced(
    page, portico_server, mail_dir, slow_catalog
):
    user = signed_in_and_funded(page, portico_server, mail_dir, "quinn@example.com")
    open_playground(page, portico_server)
    slow_catalog.configure(completion_tokens=400)  # 24 s of tokens: far longer than the test
    send(page, "Tell me a long story")
    wait_for(
        lambda: (reply := page.evaluate(LAST_REPLY, 0)) and reply["length"] > 30,
        what="the reply to start streaming",
    )
    page.get_by_role("button", name="Stop").click()
    wait_for_reply(page)
    stopped_at = page.evaluate(LAST_REPLY, 0)["length"]
    assert page.get_by_text("Stopped.").is_visible()

    wait_for(lambda: slow_catalog.tally()["cancelled"] >= 1, what="the upstream to see the cancel")
    cost = displayed_cost(page)
    assert page.evaluate(LAST_REPLY, 0)["length"] == stopped_at  # it stopped growing
    [record] = UsageRecord.objects.filter(user=user)
    assert (record.status, record.source) == ("cancelled", "playground")
    assert 0 < record.completion_tokens <= slow_catalog.tally()["completion_tokens"] < 400
    assert record.cost_usd == cost > 0
    assert page.get_by_role("button", name="Send").is_enabled()


def curl_body(page) -> dict:
    """The JSON body the "View code" curl command sends, run with a stand-in curl."""
    page.get_by_role("button", name="View code").click()
    dialog = page.get_by_role("dialog")
    curl = dialog.locator("pre").inner_text()
    stub = 'curl() { while [ $# -gt 0 ]; do [ "$1" = -d ] && printf %s "$2"; shift; done; }\n'
    sent = subprocess.run(["bash", "-c", stub + curl], capture_output=True, text=True, check=True)
    dialog.get_by_role("button", name="Close").click()
    return json.loads(sent.stdout)


def test_view_code_after_stop_leaves_out_the_cut_off_reply(
    page, portico_server, mail_dir, slow_catalog
):
    signed_in_and_funded(page, portico_server, mail_dir, "stella@example.com")
    open_playground(page, portico_server)
    slow_catalog.configure(completion_tokens=400)
    send(page, "Tell me a long story")
    wait_for(
        lambda: (reply := page.evaluate(LAST_REPLY, 0)) and reply["length"] > 30,
        what="the reply to start streaming",
    )
    page.get_by_role("button", name="Stop").click()
    wait_for_reply(page)
    assert page.get_by_text("left out of the conversation").is_visible()
    story = [{"role": "user", "content": "Tell me a long story"}]

    # The snippet is the request that was stopped, as the upstream received it.
    assert curl_body(page)["messages"] == story
    assert slow_catalog.last_request()["body"]["messages"] == story

    # The next turn does not send the half answer either, and a finished reply is kept.
    slow_catalog.configure(completion_tokens=3)
    send(page, "Shorter, please")
    wait_for_reply(page)
    asked = [*story, {"role": "user", "content": "Shorter, please"}]
    assert slow_catalog.last_request()["body"]["messages"] == asked
    assert curl_body(page)["messages"] == [
        *asked,
        {"role": "assistant", "content": completion_text(3)},
    ]
    screenshot(page, "playground-stopped")


def test_arabic_is_shown_right_to_left(page, portico_server, mail_dir, slow_catalog):
    signed_in_and_funded(page, portico_server, mail_dir, "rami@example.com")
    open_playground(page, portico_server, "portico/test-chat")
    send(page, "مرحبا، كيف حالك؟")
    wait_for_reply(page)
    question = page.locator('[data-pane="0"] .pg-user .pg-body').last
    assert question.get_attribute("dir") == "auto"
    assert question.evaluate("e => getComputedStyle(e).direction") == "rtl"
    reply = page.locator('[data-pane="0"] .pg-assistant .pg-body').last
    assert reply.get_attribute("dir") == "auto"
    assert "مرحبا! هذا رد تجريبي ثابت" in reply.inner_text()

    directions = page.evaluate(
        """() => {
          const host = document.createElement("div");
          host.className = "pg-body md";
          host.innerHTML = PorticoPlayground.renderMarkdown("مرحبا بالعالم\\n\\n- Hello world");
          document.querySelector("[data-log]").append(host);
          return [...host.querySelectorAll("p, li")].map((e) => getComputedStyle(e).direction);
        }"""
    )
    assert directions == ["rtl", "ltr"]


def test_model_output_is_rendered_as_markdown_without_running_html(
    page, portico_server, mail_dir, slow_catalog
):
    signed_in_and_funded(page, portico_server, mail_dir, "sara@example.com")
    open_playground(page, portico_server)
    result = page.evaluate(
        """() => {
          const source = [
            "**bold** and `inline`",
            "```js\\nconst a = 1 < 2;\\n```",
            "<script>window.pwned = 1</script>",
            '<img src="x" onerror="window.pwned = 2">',
            "[bad](javascript:window.pwned=3) [good](https://example.com/docs)",
          ].join("\\n\\n");
          const host = document.createElement("div");
          host.className = "pg-body md";
          host.innerHTML = PorticoPlayground.renderMarkdown(source);
          document.querySelector("[data-log]").append(host);
          return {
            elements: [...host.querySelectorAll("*")].map((e) => e.tagName.toLowerCase()),
            handlers: [...host.querySelectorAll("*")].flatMap((e) =>
              [...e.attributes].map((a) => a.name).filter((n) => n.startsWith("on"))),
            code: host.querySelector("pre > code.language-js")?.textContent,
            links: [...host.querySelectorAll("a")].map((a) => [a.getAttribute("href"), a.rel]),
            paragraphs: [...host.querySelectorAll("p")].map((p) => p.textContent),
            pwned: window.pwned ?? null,
          };
        }"""
    )
    assert "script" not in result["elements"] and "img" not in result["elements"]
    assert {"strong", "pre", "code"} <= set(result["elements"])
    assert result["handlers"] == []
    assert result["code"] == "const a = 1 < 2;\n"
    assert result["links"] == [
        [None, ""],
        ["https://example.com/docs", "noopener noreferrer nofollow"],
    ]
    # Raw HTML from a model is shown as text, not interpreted.
    assert "<script>window.pwned = 1</script>" in result["paragraphs"]
    assert result["pwned"] is None
    screenshot(page, "playground-markdown")


def test_the_sse_parser_handles_events_split_anywhere(page, portico_server, mail_dir, slow_catalog):
    signed_in_and_funded(page, portico_server, mail_dir, "tess@example.com")
    open_playground(page, portico_server)
    events = page.evaluate(
        """() => {
          const wire = 'data: {"t":"مرحبا"}\\r\\n\\n: keep-alive\\n\\ndata: {"t":"two"}\\n\\ndata: [DONE]\\n\\n';
          const bytes = new TextEncoder().encode(wire);
          const decoder = new TextDecoder();
          const parser = new PorticoPlayground.SseParser();
          const events = [];
          for (const byte of bytes) {
            events.push(...parser.push(decoder.decode(new Uint8Array([byte]), { stream: true })));
          }
          return events;
        }"""
    )
    assert events == ['{"t":"مرحبا"}', '{"t":"two"}', "[DONE]"]


def test_compare_streams_two_models_side_by_side(page, portico_server, mail_dir, slow_catalog):
    user = signed_in_and_funded(page, portico_server, mail_dir, "uma@example.com")
    open_playground(page, portico_server)
    page.get_by_role("button", name="Compare models").click()
    page.get_by_label("Compare with").select_option("slow-llm-2")
    send(page, "Which of you is faster?")

    def both_painting() -> bool:
        replies = [page.evaluate(LAST_REPLY, pane) for pane in (0, 1)]
        return all(r and r["busy"] and r["length"] > 0 for r in replies)

    wait_for(both_painting, interval=0.02, what="both columns to paint at once")
    wait_for_reply(page, 0)
    wait_for_reply(page, 1)
    costs = [displayed_cost(page, 0), displayed_cost(page, 1)]
    records = {r.model: r for r in UsageRecord.objects.filter(user=user)}
    assert set(records) == {"slow-llm", "slow-llm-2"}
    assert [records["slow-llm"].cost_usd, records["slow-llm-2"].cost_usd] == costs
    assert all(r.source == "playground" for r in records.values())
    first, second = (page.locator(f'[data-pane="{i}"]').bounding_box() for i in (0, 1))
    assert second["x"] > first["x"] and abs(second["y"] - first["y"]) < 2
    screenshot(page, "playground-compare")

    page.set_viewport_size({"width": 390, "height": 844})
    first, second = (page.locator(f'[data-pane="{i}"]').bounding_box() for i in (0, 1))
    assert second["y"] > first["y"] + first["height"] - 1  # the columns stack on a phone
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the playground scrolls sideways on a phone ({width}px)"
    screenshot(page, "playground-phone")


def test_an_empty_wallet_is_told_to_top_up(
    page_expecting_402, portico_server, mail_dir, slow_catalog
):
    page = page_expecting_402
    sign_up_and_sign_in(page, portico_server, mail_dir, "will@example.com", PASSWORD)
    open_playground(page, portico_server)
    send(page, "Hello?")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Insufficient balance" in alert.inner_text()
    top_up = alert.get_by_role("link", name="Top up your wallet")
    assert top_up.get_attribute("href") == "/wallet/"
    assert page.get_by_label("Message").input_value() == "Hello?"  # ready to send again
    assert slow_catalog.tally()["requests"] == 0
    [record] = drained_records_of("will@example.com")
    assert (record.status, record.http_status, record.source) == ("error", 402, "playground")


def test_view_code_reproduces_the_conversation(page, portico_server, mail_dir, slow_catalog):
    signed_in_and_funded(page, portico_server, mail_dir, "vera@example.com")
    open_playground(page, portico_server)
    page.get_by_label("System prompt").fill("Answer in 'single' and \"double\" quotes.")
    page.get_by_label("Max tokens").fill("5")
    box = page.get_by_label("Message")
    box.fill("It's $HOME")
    box.press("Shift+Enter")  # a new line, not a send
    box.press_sequentially("and `backticks`")
    assert page.locator(".pg-user").count() == 0
    box.press("Enter")
    wait_for_reply(page)
    expected = [
        {"role": "system", "content": "Answer in 'single' and \"double\" quotes."},
        {"role": "user", "content": "It's $HOME\nand `backticks`"},
        {"role": "assistant", "content": completion_text(5)},
    ]

    page.get_by_role("button", name="View code").click()
    dialog = page.get_by_role("dialog")
    curl = dialog.locator("pre").inner_text()
    assert curl.startswith(f"curl '{portico_server.url}/v1/chat/completions'")
    # Run the command with a stand-in curl that prints the body it was given.
    stub = 'curl() { while [ $# -gt 0 ]; do [ "$1" = -d ] && printf %s "$2"; shift; done; }\n'
    sent = subprocess.run(["bash", "-c", stub + curl], capture_output=True, text=True, check=True)
    body = json.loads(sent.stdout)
    assert body["messages"] == expected and body["max_tokens"] == 5

    dialog.get_by_role("tab", name="Python").click()
    python = dialog.locator("pre").inner_text()
    call = next(
        node
        for node in ast.walk(ast.parse(python))
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "create"
    )
    arguments = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    assert arguments["messages"] == expected and arguments["stream"] is True
    assert f'base_url="{portico_server.url}/v1"' in python
    screenshot(page, "playground-code")

    dialog.get_by_role("tab", name="JavaScript").click()
    javascript = dialog.locator("pre").inner_text()
    assert 'import OpenAI from "openai";' in javascript
    dialog.get_by_role("button", name="Close").click()
    assert not dialog.is_visible()
