// The Node `openai` package against the labeling gateway: one JSON and one streamed chat completion.
//
//   node client.mjs <base_url> [api_key]
//
// <base_url> is the gateway's OpenAI base URL (e.g. http://127.0.0.1:8787/v1). Prints one JSON object
// on stdout:
//   {"sdk": "<openai package version>",
//    "json":   {"text", "aigc" (the body's `aigc` field or null), "header" (the `AIGC` response header or null)},
//    "stream": {"text", "header", "chunks": <count>, "first_text_chunk": <index or null>,
//               "aigc": [{"chunk": <index>, "has_text": <bool>, "aigc": {...}} for each chunk carrying `aigc`]}}
// Exits non-zero (the error on stderr) when a call fails. Bounded: every request times out after 30 s
// and is never retried.

import OpenAI from "openai";
import { VERSION } from "openai/version";

const [baseURL, apiKey = "sk-node-client"] = process.argv.slice(2);
if (!baseURL) {
  console.error("usage: node client.mjs <base_url> [api_key]");
  process.exit(2);
}

const client = new OpenAI({ baseURL, apiKey, timeout: 30_000, maxRetries: 0 });
const request = {
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Say hello from Node." }],
};

function chunkText(chunk) {
  return (chunk.choices ?? []).map((c) => c.delta?.content ?? "").join("");
}

async function jsonCompletion() {
  const { data, response } = await client.chat.completions.create(request).withResponse();
  return {
    text: data.choices[0].message.content,
    aigc: data.aigc ?? null,
    header: response.headers.get("aigc"),
  };
}

async function streamedCompletion() {
  const { data: stream, response } = await client.chat.completions
    .create({ ...request, stream: true })
    .withResponse();
  const pieces = [];
  const aigc = [];
  let index = 0;
  let firstText = null;
  for await (const chunk of stream) {
    const text = chunkText(chunk);
    if (text && firstText === null) firstText = index;
    if (chunk.aigc !== undefined) aigc.push({ chunk: index, has_text: text.length > 0, aigc: chunk.aigc });
    pieces.push(text);
    index += 1;
  }
  return {
    text: pieces.join(""),
    header: response.headers.get("aigc"),
    chunks: index,
    first_text_chunk: firstText,
    aigc,
  };
}

try {
  const result = { sdk: VERSION, json: await jsonCompletion(), stream: await streamedCompletion() };
  process.stdout.write(JSON.stringify(result) + "\n");
} catch (error) {
  console.error(`${error?.constructor?.name ?? "Error"}: ${error?.message ?? error}`);
  process.exit(1);
}
