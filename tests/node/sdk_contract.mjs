// The official openai Node SDK against a running Portico (PORTICO_URL, PORTICO_KEY):
// files, vector stores, uploadAndPoll, search with filters, responses with file_search.
// Prints one JSON object of what came back; tests/contract/test_node_sdk.py asserts on it.
import OpenAI, { toFile } from "openai";

const client = new OpenAI({
  apiKey: process.env.PORTICO_KEY,
  baseURL: `${process.env.PORTICO_URL}/v1`,
  maxRetries: 0,
  timeout: 60_000,
});
const text = (body, name, type) => toFile(Buffer.from(body, "utf8"), name, { type });

const notes = await client.files.create({
  file: await text("Meeting notes about the harbour budget of 1999.", "notes.txt", "text/plain"),
  purpose: "assistants",
});
const store = await client.vectorStores.create({ name: "Node SDK" });
const attached = await client.vectorStores.files.createAndPoll(store.id, {
  file_id: notes.id,
  attributes: { kind: "notes", year: 1999 },
});
const guide = await client.vectorStores.files.uploadAndPoll(
  store.id,
  await text(
    "# Harbour\n\nThe lighthouse of Pharos guided the ships into the harbour for centuries.",
    "guide.md",
    "text/markdown",
  ),
);
await client.vectorStores.files.update(guide.id, {
  vector_store_id: store.id,
  attributes: { kind: "guide", year: 2024 },
});
const hit = (r) => ({
  file_id: r.file_id,
  filename: r.filename,
  score: r.score,
  attributes: r.attributes,
  text: r.content[0].text,
  page_start: r.page_start,
});
const everything = await client.vectorStores.search(store.id, { query: "harbour" });
const filtered = await client.vectorStores.search(store.id, {
  query: "harbour",
  filters: {
    type: "and",
    filters: [
      { type: "eq", key: "kind", value: "guide" },
      { type: "gte", key: "year", value: 2000 },
    ],
  },
});
const response = await client.responses.create({
  model: "fake-llm",
  input: "Which lighthouse guided the ships?",
  tools: [{ type: "file_search", vector_store_ids: [store.id] }],
  include: ["file_search_call.results"],
});
const searchCall = response.output.find((item) => item.type === "file_search_call");
console.log(
  JSON.stringify({
    file: { id: notes.id, object: notes.object, filename: notes.filename },
    store: { id: store.id, object: store.object },
    attached: { id: attached.id, status: attached.status },
    guide: { id: guide.id, status: guide.status },
    counts: (await client.vectorStores.retrieve(store.id)).file_counts,
    everything: everything.data.map(hit),
    filtered: filtered.data.map(hit),
    response: {
      status: response.status,
      output_types: response.output.map((item) => item.type),
      queries: searchCall?.queries,
      results: (searchCall?.results ?? []).map((r) => r.filename),
      output_text: response.output_text,
      usage: response.usage,
    },
  }),
);
