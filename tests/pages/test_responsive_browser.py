"""Tables, buttons and code blocks on every page with them, measured in a real Chromium.

At 1280 px no table is wider than its column; at 390 px (a phone) no table scrolls
sideways and every cell, cost and status included, is on screen. Every button variant
reads at 4.5:1 or better in the light and the dark theme. The quick-start Copy button
never covers the code. Screenshots of each page at both widths go to the artifacts
directory (tests/support/screenshots.py).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.keys import issue_key
from billing.credits import credit
from catalog.models import Deployment, Model, Provider
from ocr.models import OcrJob
from retrieval.models import Collection, Document
from tests.conftest import make_user
from tests.gateway.test_usage_page import event
from tests.support.browser import sign_in_as
from tests.support.orgs import org_id
from tests.support.screenshots import save_screenshot
from usage.drain import discard_pending_events, record_usage_events

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_MODEL = "meta-llama/llama-4-maverick-17b-128e-instruct"
WIDTHS = (1280, 390)


@pytest.fixture
def shop(transactional_db):
    """Erin's month: a catalog with a long model id, two keys, usage, a ledger, OCR jobs
    and a retrieval collection."""
    discard_pending_events()
    local = Provider.objects.create(name="local", label="Built-in", kind="local")
    groq = Provider.objects.create(name="groq", label="Groq", base_url="https://groq.test/v1")
    for public_id, kind, provider, price in (
        ("portico/test-chat", "llm", local, "0.5"),
        ("portico/test-embedding", "embedding", local, "0.02"),
        (LONG_MODEL, "llm", groq, "0.27"),
        ("openai/gpt-5-mini", "llm", groq, "0.25"),
    ):
        model = Model.objects.create(
            public_id=public_id,
            type=kind,
            name=public_id.split("/")[-1].replace("-", " ").title(),
            context_window=1048576,
            input_price_per_1m=Decimal(price),
            output_price_per_1m=Decimal(price) * 4,
        )
        Deployment.objects.create(model=model, provider=provider, upstream_model=public_id)
    erin = make_user("erin@example.com")
    credit(org_id(erin), Decimal("25"), kind="adjustment", idempotency_key="shop-fund")
    laptop = issue_key(
        erin, "laptop-production-eu", daily_budget=Decimal("2.5"), monthly_budget=Decimal("20")
    ).key
    ci = issue_key(erin, "ci").key
    now = timezone.now()
    events = [
        event(
            erin,
            at=now - timedelta(hours=n * 5, minutes=1),
            model=(LONG_MODEL, "openai/gpt-5-mini", "portico/test-chat")[n % 3],
            provider="groq" if n % 3 < 2 else "local",
            api_key_id=(laptop.pk, ci.pk)[n % 2],
            source="api_key" if n % 4 else "playground",
            prompt_tokens=12000 + 37 * n,
            completion_tokens=3400 + n,
            cost_usd=f"0.0{n + 10}31",
            status="error" if n % 7 == 0 else "ok",
            latency_ms=3000 + 10 * n,
            ttft_ms=600 + n,
            stream=True,
        )
        for n in range(40)
    ]
    record_usage_events(events[::-1])
    for n, status in enumerate(("done", "processing", "error")):
        OcrJob.objects.create(
            token=secrets.token_urlsafe(24),
            owner=erin,
            filename=f"quarterly-report-{n}-with-a-rather-long-file-name-for-tables.pdf",
            status=status,
            total_pages=12,
            pages_done=12 if status == "done" else 3,
            unit_price_usd=Decimal("0.01"),
            expires_at=now + timedelta(hours=20),
        )
    collection = Collection.objects.create(owner=erin, name="Harbour notes")
    for n in range(3):
        Document.objects.create(
            collection=collection,
            filename=f"harbour-survey-{n}-annex-with-a-long-name-and-no-spaces.txt",
            mime_type="text/plain",
            status=("ready", "processing", "error")[n],
            error="The file is not text." if n == 2 else "",
            pages=3,
        )
    return {"user": erin, "keys": (laptop, ci), "collection": collection}


def pages_with_tables(shop) -> dict[str, str]:
    return {
        "dashboard": "/",
        "models": "/models/",
        "model-page": f"/models/{LONG_MODEL}/",
        "usage": "/usage/",
        "wallet": "/wallet/",
        "keys": "/keys/",
        "docs": "/docs/",
        "ocr": "/ocr/",
        "retrieval-collection": f"/retrieval/{shop['collection'].collection_id}/",
    }


# Every visible table: its width against its wrapper's, and any cell past the viewport.
MEASURE_TABLES = """() => {
  const seen = [];
  for (const table of document.querySelectorAll("main table")) {
    if (!table.offsetParent) continue;
    const wrap = table.closest(".table-wrap") || table.parentElement;
    const cells = [...table.querySelectorAll("th, td")].filter((c) => c.offsetParent);
    const offscreen = cells
      .filter((c) => { const r = c.getBoundingClientRect(); return r.width && (r.left < -1 || r.right > innerWidth + 1); })
      .map((c) => (c.dataset.label || c.textContent).trim().slice(0, 30));
    seen.push({
      table: table.className || table.getAttribute("aria-labelledby") || table.closest("section")?.id || "table",
      tableWidth: Math.round(table.getBoundingClientRect().width),
      scrollWidth: wrap.scrollWidth,
      clientWidth: wrap.clientWidth,
      offscreen,
    });
  }
  return seen;
}"""


# 820 px: a tablet, where rows stack and the priority columns have given way.
@pytest.mark.parametrize("width", [*WIDTHS, 820])
def test_no_table_is_wider_than_its_column(page, portico_server, shop, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_as(page, portico_server, shop["user"])
    problems, tables = [], 0
    for name, path in pages_with_tables(shop).items():
        page.goto(portico_server.url + path)
        page.get_by_role("heading", level=1).first.wait_for()
        if page.locator("[data-chart]").count():
            page.locator("[data-chart] svg").first.wait_for()
        # Chart data tables hide in a disclosure; open them to measure them too.
        page.evaluate(
            "() => document.querySelectorAll('details.chart-data').forEach((d) => { d.open = true; })"
        )
        measured = page.evaluate(MEASURE_TABLES)
        tables += len(measured)
        for m in measured:
            print(
                f"{width}px {name} {m['table']}: table {m['tableWidth']} px, wrapper {m['scrollWidth']}/{m['clientWidth']} px"
            )
            if m["scrollWidth"] > m["clientWidth"] + 1:
                problems.append(
                    f"{name}: {m['table']} is {m['scrollWidth']} px in {m['clientWidth']} px"
                )
            if m["offscreen"]:
                problems.append(f"{name}: {m['table']} has cells off screen: {m['offscreen'][:4]}")
        page_width = page.evaluate("document.documentElement.scrollWidth")
        if page_width > width:
            problems.append(f"{name}: the page is {page_width} px wide")
        page.evaluate(
            "() => document.querySelectorAll('details.chart-data').forEach((d) => { d.open = false; })"
        )
        save_screenshot(page, name)
    assert tables >= 10, "the pages should have shown their tables"
    assert not problems, "\n".join(problems)


def test_phones_get_stacked_rows_with_cost_and_status_labelled(page, portico_server, shop):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_as(page, portico_server, shop["user"])
    page.goto(portico_server.url + "/usage/")

    row = page.locator("table.usage-table tbody tr").first
    cost = row.locator('td[data-label="Cost (USD)"]')
    status = row.locator('td[data-label="Status"]')
    for cell in (cost, status):
        assert cell.is_visible()
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    label = cost.evaluate("(td) => getComputedStyle(td, '::before').content")
    assert label == '"Cost (USD)"', "each stacked cell names itself"
    head = page.locator("table.usage-table thead").bounding_box()
    assert head["width"] <= 1, "the column heads give way to the labels"
    # At desktop width the same table is a table again, heads and all.
    page.set_viewport_size({"width": 1280, "height": 900})
    assert page.locator("table.usage-table thead").bounding_box()["width"] > 600


# Effective colours: the text colour over the first opaque background behind it.
CONTRAST = """(elements) => {
  const parse = (c) => { const m = c.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
  const background = (el) => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let colour = [255, 255, 255, 1];
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const lum = (c) => { const v = c.slice(0, 3).map((x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; }); return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  return elements.filter((el) => el.offsetParent && !el.disabled).map((el) => {
    const bg = background(el);
    const fg = over(parse(getComputedStyle(el).color), bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return { what: `${el.tagName.toLowerCase()}.${[...el.classList].join(".")} “${el.textContent.trim().slice(0, 20)}”`, ratio: (a + 0.05) / (b + 0.05) };
  });
}"""
# One of each variant, added to the page so variants no page shows right now count too.
PROBES = """() => {
  const box = document.createElement("div");
  box.className = "card";
  box.innerHTML = `<button type="button">Primary</button> <button type="button" class="secondary">Secondary</button>
    <button type="button" class="danger">Stop</button> <button type="button" class="danger small">Delete</button>
    <a class="button" href="#">Link button</a> <a class="button secondary small" href="#">Edit</a>
    <a class="button danger small" href="#">Revoke</a> <button type="button" class="link">Sign out</button>`;
  document.querySelector("main").prepend(box);
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_button_reads_at_4_5_to_1(page, portico_server, shop, scheme):
    page.emulate_media(color_scheme=scheme)
    sign_in_as(page, portico_server, shop["user"])
    low, counted = [], 0
    for path in ("/", "/keys/", "/wallet/", "/usage/", "/playground/", "/models/"):
        page.goto(portico_server.url + path)
        page.get_by_role("heading", level=1).first.wait_for()
        page.evaluate(PROBES)
        measured = page.locator("main button, main .button").evaluate_all(CONTRAST)
        counted += len(measured)
        worst = min(measured, key=lambda m: m["ratio"])
        print(
            f"{scheme} {path}: {len(measured)} buttons, lowest {worst['ratio']:.2f}:1 ({worst['what']})"
        )
        low += [f"{path} {m['what']}: {m['ratio']:.2f}:1" for m in measured if m["ratio"] < 4.5]
    assert counted > 40
    assert not low, f"buttons under 4.5:1 in the {scheme} theme:\n" + "\n".join(low)
    page.goto(portico_server.url + "/keys/")
    save_screenshot(page, f"keys-{scheme}")


# Boxes of every line of the code's text, and of the Copy button over it.
OVERLAP = """(block) => {
  const pre = block.querySelector("pre");
  const button = block.querySelector(".copy").getBoundingClientRect();
  const range = document.createRange();
  range.selectNodeContents(pre);
  const lines = [...range.getClientRects()].filter((r) => r.width > 0);
  const hits = lines.filter((r) => r.left < button.right && r.right > button.left && r.top < button.bottom && r.bottom > button.top);
  return { lines: lines.length, hits: hits.length, button: [button.left, button.top, button.right, button.bottom] };
}"""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", ["/", f"/models/{LONG_MODEL}/"])
def test_the_copy_button_never_covers_the_code(page, portico_server, shop, width, path):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_as(page, portico_server, shop["user"])
    page.goto(portico_server.url + path)

    blocks = page.locator("details[open] .code-block")
    assert blocks.count() >= 1
    for index in range(blocks.count()):
        found = blocks.nth(index).evaluate(OVERLAP)
        assert found["lines"] >= 3, found
        assert found["hits"] == 0, (
            f"the Copy button covers {found['hits']} line(s) of code at {width} px"
        )
    if path == "/":
        page.locator(".quick-start").scroll_into_view_if_needed()
        save_screenshot(page, "dashboard-quick-start", full_page=False)


@pytest.mark.parametrize("width", WIDTHS)
def test_key_cards_show_their_spend_in_the_page_and_after_an_edit(
    page, portico_server, shop, width
):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_as(page, portico_server, shop["user"])
    laptop = shop["keys"][0]
    page.goto(portico_server.url + "/keys/")

    card = page.locator(f"#key-{laptop.pk}")
    spend = card.get_by_test_id("key-spend")
    assert "of $2.50 cap" in spend.inner_text()
    assert "of $20.00 cap" in spend.inner_text()
    assert spend.locator("meter").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    save_screenshot(page, "keys")

    card.get_by_role("link", name="Edit laptop-production-eu").click()
    editor = page.locator(f"#key-{laptop.pk} form")
    editor.get_by_label("Name").fill("laptop-production")
    editor.get_by_role("button", name="Save changes").click()
    card.get_by_text("Saved.").wait_for()
    assert "of $2.50 cap" in card.get_by_test_id("key-spend").inner_text()
