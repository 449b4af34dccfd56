// Portico playground: chat through the gateway, streamed and rendered safely as it arrives.
// Requests go to /playground/chat, which runs the /v1 chat pipeline (limits, funds,
// metering, billing) with the session as the credential. With one of the user's
// collections chosen ("Chat with your documents"), to /playground/documents instead: the
// /v1/responses pipeline with the file_search tool, streamed as Responses events, whose
// search results are listed under the answer, each linking to its page.
(() => {
  "use strict";

  // --- Markdown, rendered safely --------------------------------------------------------
  // Model output is untrusted. Raw HTML in it is shown as text (never interpreted), and
  // everything marked produces still goes through DOMPurify with a small allowlist:
  // no images (a URL in model output must not load by itself), http(s) links only.
  const DIRECTIONAL = new Set(["P", "LI", "BLOCKQUOTE", "TD", "TH", "H1", "H2", "H3", "H4", "H5", "H6"]);
  const PURIFY = {
    ALLOWED_TAGS: [
      "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre",
      "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
    ],
    ALLOWED_ATTR: ["href", "title", "class", "start", "align"],
    ALLOWED_URI_REGEXP: /^https?:\/\//i,
  };
  let markdown = null;

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  }

  function setUpRenderer() {
    if (markdown) return;
    markdown = new window.marked.Marked({ gfm: true, breaks: true, async: false });
    markdown.use({
      renderer: {
        html: (token) => {
          const text = escapeHtml(token.text.replace(/\n+$/, ""));
          return token.block ? `<p>${text.replace(/\n/g, "<br>")}</p>\n` : text;
        },
      },
    });
    window.DOMPurify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "A" && node.hasAttribute("href")) {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer nofollow");
      } else if (DIRECTIONAL.has(node.tagName)) {
        // Each paragraph takes the direction of its own first strong character:
        // an Arabic paragraph reads right to left, an English one left to right.
        node.setAttribute("dir", "auto");
      } else if (node.tagName === "PRE") {
        node.setAttribute("dir", "ltr");
      }
    });
  }

  function renderMarkdown(source) {
    setUpRenderer();
    return window.DOMPurify.sanitize(markdown.parse(source), PURIFY);
  }

  // --- Server-Sent Events, incrementally ------------------------------------------------
  // Network reads split events anywhere (even inside a UTF-8 character: the decoder
  // keeps those). ``push`` returns the data of every event completed so far.
  class SseParser {
    constructor() {
      this.buffer = "";
      this.data = [];
    }

    push(text) {
      this.buffer += text;
      const events = [];
      let start = 0;
      let end;
      while ((end = this.buffer.indexOf("\n", start)) !== -1) {
        let line = this.buffer.slice(start, end);
        start = end + 1;
        if (line.endsWith("\r")) line = line.slice(0, -1);
        if (line === "") {
          if (this.data.length) events.push(this.data.join("\n"));
          this.data = [];
          continue;
        }
        if (line.startsWith(":")) continue; // a comment (keep-alive)
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "data") this.data.push(value);
      }
      this.buffer = this.buffer.slice(start);
      return events;
    }

    finish() {
      const events = this.push("\n\n");
      this.buffer = "";
      return events;
    }
  }

  // --- "View code" ----------------------------------------------------------------------
  function shellQuote(text) {
    return `'${String(text).replace(/'/g, `'\\''`)}'`;
  }

  // JSON strings are valid Python string literals; the rest is spelled out.
  function pythonLiteral(value, indent = "") {
    if (value === null || value === undefined) return "None";
    if (value === true) return "True";
    if (value === false) return "False";
    if (typeof value === "string") return JSON.stringify(value);
    if (typeof value === "number") return String(value);
    if (Array.isArray(value)) {
      if (!value.length) return "[]";
      const inner = `${indent}    `;
      return `[\n${value.map((item) => `${inner}${pythonLiteral(item, inner)},\n`).join("")}${indent}]`;
    }
    const entries = Object.entries(value).map(
      ([key, item]) => `${JSON.stringify(key)}: ${pythonLiteral(item, indent)}`,
    );
    return `{${entries.join(", ")}}`;
  }

  function codeSamples(body, baseUrl) {
    const url = `${baseUrl.replace(/\/$/, "")}/chat/completions`;
    const json = JSON.stringify(body, null, 2);
    const curl = [
      `curl ${shellQuote(url)} \\`,
      `  -H "Authorization: Bearer $PORTICO_API_KEY" \\`,
      `  -H "Content-Type: application/json" \\`,
      "  --no-buffer \\",
      `  -d ${shellQuote(json)}`,
    ].join("\n");
    const args = Object.entries(body)
      .map(([key, value]) => `    ${key}=${pythonLiteral(value, "    ")},`)
      .join("\n");
    const python = [
      "import os",
      "",
      "from openai import OpenAI",
      "",
      `client = OpenAI(base_url=${JSON.stringify(baseUrl)}, api_key=os.environ["PORTICO_API_KEY"])`,
      "",
      "stream = client.chat.completions.create(",
      args,
      ")",
      "for chunk in stream:",
      "    if chunk.choices and chunk.choices[0].delta.content:",
      '        print(chunk.choices[0].delta.content, end="", flush=True)',
      "    if chunk.usage:",
      '        print(f"\\n{chunk.usage.prompt_tokens} prompt + {chunk.usage.completion_tokens} completion tokens")',
    ].join("\n");
    const javascript = [
      'import OpenAI from "openai";',
      "",
      "const client = new OpenAI({",
      `  baseURL: ${JSON.stringify(baseUrl)},`,
      "  apiKey: process.env.PORTICO_API_KEY,",
      "});",
      "",
      `const stream = await client.chat.completions.create(${json});`,
      "for await (const chunk of stream) {",
      '  process.stdout.write(chunk.choices[0]?.delta?.content ?? "");',
      "  if (chunk.usage) console.log(`\\n${chunk.usage.prompt_tokens} prompt + ${chunk.usage.completion_tokens} completion tokens`);",
      "}",
    ].join("\n");
    return { curl, python, javascript };
  }

  // The same conversation as a Responses call with the file_search tool.
  function documentsCodeSamples(body, storeId, baseUrl) {
    const url = `${baseUrl.replace(/\/$/, "")}/responses`;
    const request = {
      model: body.model,
      input: body.messages,
      tools: [{ type: "file_search", vector_store_ids: [storeId] }],
      include: ["file_search_call.results"],
    };
    const json = JSON.stringify(request, null, 2);
    const curl = [
      `curl ${shellQuote(url)} \\`,
      `  -H "Authorization: Bearer $PORTICO_API_KEY" \\`,
      `  -H "Content-Type: application/json" \\`,
      `  -d ${shellQuote(json)}`,
    ].join("\n");
    const args = Object.entries(request)
      .map(([key, value]) => `    ${key}=${pythonLiteral(value, "    ")},`)
      .join("\n");
    const python = [
      "import os",
      "",
      "from openai import OpenAI",
      "",
      `client = OpenAI(base_url=${JSON.stringify(baseUrl)}, api_key=os.environ["PORTICO_API_KEY"])`,
      "",
      "response = client.responses.create(",
      args,
      ")",
      "print(response.output_text)",
      "for citation in response.output[1].content[0].annotations:",
      '    print(citation.filename, citation.model_extra["page_start"])',
    ].join("\n");
    const javascript = [
      'import OpenAI from "openai";',
      "",
      "const client = new OpenAI({",
      `  baseURL: ${JSON.stringify(baseUrl)},`,
      "  apiKey: process.env.PORTICO_API_KEY,",
      "});",
      "",
      `const response = await client.responses.create(${json});`,
      "console.log(response.output_text);",
    ].join("\n");
    return { curl, python, javascript };
  }

  // Exposed for the page tests (and the curious console user).
  window.PorticoPlayground = { renderMarkdown, SseParser, codeSamples, documentsCodeSamples };

  // --- The page -------------------------------------------------------------------------
  const root = document.querySelector("[data-playground]");
  if (!root) return;
  const config = JSON.parse(document.getElementById("playground-config").textContent);
  const modelsById = new Map(config.models.map((m) => [m.id, m]));
  const composer = root.querySelector("[data-composer]");
  const input = composer.querySelector("textarea");
  const sendButton = root.querySelector("[data-send]");
  const stopButton = root.querySelector("[data-stop]");
  const compareToggle = root.querySelector("[data-compare-toggle]");
  const columns = root.querySelector("[data-columns]");
  const balance = root.querySelector("[data-wallet-balance]");
  const csrfToken = composer.querySelector("[name=csrfmiddlewaretoken]").value;
  const field = (name) => root.querySelector(`[data-settings] [name="${name}"]`);
  const storeSelect = root.querySelector("[data-store-select]");

  const panes = [...root.querySelectorAll("[data-pane]")].map((element, index) => ({
    index,
    element,
    log: element.querySelector("[data-log]"),
    title: element.querySelector("[data-pane-title]"),
    select: root.querySelector(`[data-model-select="${index}"]`),
    history: [],
    controller: null,
  }));
  let comparing = false;
  let running = 0;

  const activePanes = () => (comparing ? panes : panes.slice(0, 1));

  function make(tag, className, text) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined) element.textContent = text;
    return element;
  }

  function modelLabel(id) {
    const model = modelsById.get(id);
    if (!model) return id;
    const price = model.price_text;
    return model.name === id ? `${id} (${price})` : `${model.name} — ${id} (${price})`;
  }

  function updateTitles() {
    for (const pane of panes) pane.title.textContent = pane.select ? modelLabel(pane.select.value) : "";
  }

  function updateControls() {
    sendButton.disabled = running > 0 || !config.models.length;
    stopButton.disabled = running === 0;
    compareToggle.disabled = running > 0;
    root.querySelector("[data-clear]").disabled = running > 0;
  }

  function scrollToEnd(pane) {
    const log = pane.log;
    if (log.scrollHeight - log.scrollTop - log.clientHeight < 120) log.scrollTop = log.scrollHeight;
  }

  function dropHint(pane) {
    pane.log.querySelector("[data-hint]")?.remove();
  }

  function addUserMessage(pane, text) {
    dropHint(pane);
    const article = make("article", "pg-msg pg-user");
    article.append(make("div", "pg-msg-head", "You"));
    const body = make("div", "pg-body pg-plain", text);
    body.dir = "auto";
    article.append(body);
    pane.log.append(article);
    scrollToEnd(pane);
    return article;
  }

  function addAssistantMessage(pane, model) {
    const article = make("article", "pg-msg pg-assistant");
    article.setAttribute("aria-busy", "true");
    article.dataset.model = model;
    const head = make("div", "pg-msg-head", "Assistant ");
    head.append(make("span", "badge", model));
    const body = make("div", "pg-body md streaming");
    body.dir = "auto";
    const stats = make("dl", "pg-stats");
    const values = {};
    for (const [key, label] of [["ttft", "First token"], ["speed", "Speed"], ["tokens", "Tokens"], ["cost", "Cost"]]) {
      const item = make("div");
      item.append(make("dt", "", label));
      values[key] = make("dd", "", "…");
      values[key].dataset.stat = key;
      item.append(values[key]);
      stats.append(item);
    }
    article.append(head, body, stats);
    pane.log.append(article);
    scrollToEnd(pane);
    return {
      pane, article, body, values, text: "", frame: 0, sentAt: performance.now(),
      firstAt: null, endAt: null, usage: null, search: null, annotations: [],
    };
  }

  // Re-render at most once per animation frame, however fast tokens arrive.
  function scheduleRender(message) {
    if (message.frame) return;
    message.frame = requestAnimationFrame(() => {
      message.frame = 0;
      message.body.innerHTML = renderMarkdown(message.text);
      scrollToEnd(message.pane);
    });
  }

  function finalRender(message) {
    if (message.frame) cancelAnimationFrame(message.frame);
    message.frame = 0;
    message.body.innerHTML = renderMarkdown(message.text);
    message.body.classList.remove("streaming");
    message.article.removeAttribute("aria-busy");
  }

  function showStats(message) {
    const { values, usage } = message;
    values.ttft.textContent = message.firstAt === null ? "—" : `${Math.round(message.firstAt - message.sentAt)} ms`;
    if (usage) {
      const estimated = usage.tokens_reported === false ? " (estimated)" : "";
      values.tokens.textContent = `${usage.prompt_tokens} in · ${usage.completion_tokens} out${estimated}`;
      // Generation speed: the tokens after the first, over the time from the first to the end.
      const seconds = message.firstAt === null ? 0 : (message.endAt - message.firstAt) / 1000;
      values.speed.textContent =
        seconds > 0 && usage.completion_tokens > 1
          ? `${((usage.completion_tokens - 1) / seconds).toFixed(1)} tok/s`
          : "—";
    }
  }

  function showNote(message, text, className = "pg-note") {
    const note = make("p", className, text);
    message.article.insertBefore(note, message.article.querySelector(".pg-stats"));
    return note;
  }

  async function readError(response) {
    let error = null;
    try {
      error = (await response.json()).error;
    } catch {
      error = null;
    }
    if (error && error.message) return error;
    if (response.status === 403) return { message: "Your session has changed. Reload the page and try again." };
    return { message: `The request failed (${response.status}).` };
  }

  function showError(message, status, error) {
    const box = showNote(message, error.message, "pg-error");
    box.setAttribute("role", "alert");
    let link = null;
    if (status === 402) link = ["Top up your wallet", config.walletUrl];
    else if (status === 401) link = ["Sign in again", config.loginUrl];
    if (link) {
      const anchor = make("a", "", link[0]);
      anchor.href = link[1];
      box.append(" ", anchor);
    }
  }

  // --- Chat with your documents: what was searched, and the pages it found ---------------
  function citedPageUrl(result, query) {
    const url = config.citedPageUrl
      .replace("VS_ID", encodeURIComponent(result.vector_store_id))
      .replace("FILE_ID", encodeURIComponent(result.file_id))
      .replace("99999", String(result.page_start));
    return query ? `${url}?${new URLSearchParams({ q: query.slice(0, 500) })}` : url;
  }

  // The numbers the model cited, read from the annotations the server made (an
  // annotation's index counts code points; a marker naming no result has none).
  function citedNumbers(message) {
    const chars = [...message.text];
    const numbers = new Set();
    for (const annotation of message.annotations) {
      const marker = chars.slice(annotation.index, annotation.index + 6).join("").match(/^\[(\d{1,3})\]/);
      if (marker) numbers.add(Number(marker[1]));
    }
    return numbers;
  }

  function showSources(message) {
    const search = message.search;
    if (!search) return;
    const results = search.results || [];
    const cited = citedNumbers(message);
    const box = make("section", "pg-sources");
    box.setAttribute("aria-label", "Sources");
    const queries = (search.queries || []).map((q) => `“${q}”`).join(", ");
    const head = make("p", "pg-sources-head");
    head.append(make("strong", "", "Sources"), ` · searched for ${queries || "nothing"}`);
    head.dir = "auto";
    box.append(head);
    if (!results.length) {
      box.append(make("p", "pg-note", "Nothing in the collection matched."));
    } else {
      const list = make("ol", "pg-source-list");
      results.forEach((result, i) => {
        const number = i + 1;
        const item = make("li", cited.has(number) ? "cited" : "");
        item.dataset.source = String(number);
        const pages = result.page_end && result.page_end !== result.page_start
          ? `pages ${result.page_start}–${result.page_end}` : `page ${result.page_start}`;
        const link = make("a", "", `[${number}] ${result.filename}, ${pages}`);
        link.href = citedPageUrl(result, (search.queries || [])[0] || "");
        link.target = "_blank";
        link.rel = "noopener";
        link.dir = "auto";
        item.append(link);
        if (cited.has(number)) item.append(" ", make("span", "badge ok", "cited"));
        list.append(item);
      });
      box.append(list);
      if (!cited.size) {
        box.append(make("p", "pg-note", "The model cited none of these: they are what it was given to read."));
      }
    }
    message.article.insertBefore(box, message.article.querySelector(".pg-stats"));
  }

  const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

  // The usage event is written before the stream ends, but a stopped stream is
  // recorded a moment after the server sees the disconnect. The endpoint waits a
  // little for it; past that it answers 404 and we retry a few times.
  // An amount as the server formatted it (ground.money), the exact one on hover,
  // never wrapped inside.
  function showMoney(element, text, exact) {
    element.textContent = text;
    element.title = exact || "";
    element.classList.add("money");
  }

  async function fetchUsage(message, requestId) {
    const url = config.usageUrl.replace("REQUEST_ID", encodeURIComponent(requestId));
    let delay = 150;
    for (let attempt = 0; attempt < 6; attempt += 1) {
      let response = null;
      try {
        response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      } catch {
        response = null;
      }
      if (response && response.ok) {
        const usage = await response.json();
        message.usage = usage;
        showStats(message);
        showMoney(message.values.cost, usage.cost_display, usage.cost_exact);
        message.values.cost.dataset.costUsd = usage.cost_usd;
        if (usage.searches) {
          // Charged with the answer (its cost above includes them).
          const item = make("div");
          const count = make("dd", "", String(usage.searches));
          count.dataset.stat = "searches";
          item.append(make("dt", "", "Searches"), count);
          message.article.querySelector(".pg-stats").append(item);
        }
        message.article.dataset.requestId = usage.request_id;
        if (balance && usage.wallet) showMoney(balance, usage.wallet.balance_display, usage.wallet.balance_exact);
        return;
      }
      if (response && response.status !== 404) break;
      await sleep(delay);
      delay *= 2;
    }
    message.values.cost.textContent = "unavailable";
  }

  function chatSettings() {
    const settings = {};
    const number = (name) => {
      const raw = field(name).value.trim();
      return raw === "" ? null : Number(raw);
    };
    const temperature = number("temperature");
    const topP = number("top_p");
    const maxTokens = number("max_tokens");
    if (temperature !== null) settings.temperature = temperature;
    if (topP !== null) settings.top_p = topP;
    if (maxTokens !== null) settings.max_tokens = maxTokens;
    return settings;
  }

  function requestBody(model, history) {
    const system = field("system").value.trim();
    const messages = system ? [{ role: "system", content: system }, ...history] : [...history];
    return {
      model,
      messages,
      ...chatSettings(),
      stream: true,
      stream_options: { include_usage: true },
    };
  }

  async function runPane(pane, prompt) {
    const model = pane.select.value;
    const store = storeSelect ? storeSelect.value : "";
    pane.history.push({ role: "user", content: prompt });
    const body = requestBody(model, pane.history);
    if (store) body.vector_store_id = store;
    const message = addAssistantMessage(pane, model);
    const controller = new AbortController();
    pane.controller = controller;
    let response;
    try {
      response = await fetch(store ? config.documentsUrl : config.chatUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream", "X-CSRFToken": csrfToken },
        body: JSON.stringify(body),
        credentials: "same-origin",
        signal: controller.signal,
      });
    } catch (error) {
      pane.history.pop();
      finalRender(message);
      if (controller.signal.aborted) showNote(message, "Stopped before the model answered.");
      else showError(message, 0, { message: `Portico could not be reached: ${error.message}` });
      message.article.querySelector(".pg-stats").remove();
      return false;
    }
    if (!response.ok) {
      pane.history.pop();
      finalRender(message);
      showError(message, response.status, await readError(response));
      message.article.querySelector(".pg-stats").remove();
      return false;
    }
    const requestId = response.headers.get("x-request-id");
    const complete = await readStream(message, response, controller);
    // A reply cut off by Stop (or a broken stream) stays on screen but leaves the
    // conversation: the next request and "View code" send what the model was asked,
    // never a half answer it did not give.
    if (complete && message.text) pane.history.push({ role: "assistant", content: message.text });
    // The cost follows in the background: the next message need not wait for it.
    if (requestId) fetchUsage(message, requestId);
    return true;
  }

  async function readStream(message, response, controller) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    let finish = null;
    let streamError = null;
    const handle = (data) => {
      if (data === "[DONE]") return;
      let chunk;
      try {
        chunk = JSON.parse(data);
      } catch {
        return;
      }
      const addText = (delta) => {
        if (message.firstAt === null) {
          message.firstAt = performance.now();
          showStats(message);
        }
        message.text += delta;
        scheduleRender(message);
      };
      if (chunk.type) {
        // A Responses event (Chat with your documents).
        if (chunk.type === "response.output_text.delta") addText(chunk.delta || "");
        else if (chunk.type === "response.output_text.annotation.added") message.annotations.push(chunk.annotation);
        else if (chunk.type === "response.output_item.done" && chunk.item?.type === "file_search_call") message.search = chunk.item;
        else if (chunk.type === "error") streamError = { message: chunk.message };
        else if (["response.completed", "response.incomplete"].includes(chunk.type)) {
          const usage = chunk.response?.usage;
          if (usage) message.usage = { prompt_tokens: usage.input_tokens, completion_tokens: usage.output_tokens, tokens_reported: true };
          if (chunk.response?.incomplete_details?.reason === "max_output_tokens") finish = "length";
        }
        return;
      }
      if (chunk.error) streamError = chunk.error;
      if (chunk.usage) message.usage = { ...chunk.usage, tokens_reported: true };
      for (const choice of chunk.choices || []) {
        const delta = choice.delta && choice.delta.content;
        if (delta) addText(delta);
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    };
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(decoder.decode(value, { stream: true })).forEach(handle);
      }
      parser.push(decoder.decode()).forEach(handle);
      parser.finish().forEach(handle);
    } catch (error) {
      if (!controller.signal.aborted) streamError = { message: `The stream broke: ${error.message}` };
    }
    message.endAt = performance.now();
    finalRender(message);
    showSources(message);
    if (controller.signal.aborted) {
      showNote(
        message,
        "Stopped. You are charged only for the tokens generated until then. " +
          "This partial reply is left out of the conversation (and of View code).",
      );
    } else if (finish === "length") showNote(message, "The reply reached the max tokens limit.");
    if (streamError) showError(message, 502, streamError);
    showStats(message);
    return !controller.signal.aborted && !streamError;
  }

  async function send() {
    const prompt = input.value.trim();
    if (!prompt || running) return;
    input.value = "";
    const targets = activePanes();
    running = targets.length;
    updateControls();
    const results = await Promise.all(
      targets.map(async (pane) => {
        addUserMessage(pane, prompt);
        try {
          return await runPane(pane, prompt);
        } finally {
          pane.controller = null;
          running -= 1;
          updateControls();
        }
      }),
    );
    // Nothing was sent anywhere: give the prompt back to retry (after a top-up, say).
    if (!results.some(Boolean) && !input.value) input.value = prompt;
    input.focus();
  }

  function stop() {
    for (const pane of panes) pane.controller?.abort();
  }

  function setComparing(on) {
    comparing = on;
    compareToggle.setAttribute("aria-pressed", String(on));
    columns.classList.toggle("compare", on);
    root.querySelectorAll("[data-compare-only]").forEach((element) => { element.hidden = !on; });
    const [first, second] = panes;
    second.element.hidden = !on;
    if (on) {
      // The second model continues the same conversation so far.
      second.history = first.history.map((turn) => ({ ...turn }));
      second.log.replaceChildren(...[...first.log.children].map((node) => node.cloneNode(true)));
    }
    updateTitles();
  }

  function clear() {
    for (const pane of panes) {
      pane.history = [];
      pane.log.replaceChildren();
    }
  }

  // "View code" for the first column's conversation and the current settings.
  const dialog = root.querySelector("[data-code-dialog]");
  let samples = null;
  function showSample(language) {
    dialog.querySelectorAll("[data-code-tab]").forEach((tab) => {
      tab.setAttribute("aria-selected", String(tab.dataset.codeTab === language));
    });
    dialog.querySelector("[data-code]").textContent = samples[language];
  }

  function openCode() {
    const [first] = panes;
    const draft = input.value.trim();
    const history = [...first.history];
    if (draft) history.push({ role: "user", content: draft });
    if (!history.length) history.push({ role: "user", content: "Hello!" });
    const body = requestBody(first.select.value, history);
    samples = storeSelect && storeSelect.value
      ? documentsCodeSamples(body, storeSelect.value, config.apiBaseUrl)
      : codeSamples(body, config.apiBaseUrl);
    showSample("curl");
    dialog.showModal();
  }

  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  stopButton.addEventListener("click", stop);
  compareToggle.addEventListener("click", () => setComparing(!comparing));
  root.querySelector("[data-clear]").addEventListener("click", clear);
  root.querySelector("[data-view-code]").addEventListener("click", openCode);
  root.querySelector("[data-code-close]").addEventListener("click", () => dialog.close());
  dialog.querySelectorAll("[data-code-tab]").forEach((tab) => {
    tab.addEventListener("click", () => showSample(tab.dataset.codeTab));
  });
  for (const pane of panes) pane.select?.addEventListener("change", updateTitles);

  updateTitles();
  updateControls();
})();
