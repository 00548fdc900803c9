// llada-serve through the official `openai` npm client (tests/e2e/serve.sh): models, a chat
// completion, a streamed chat completion and a plain completion, each against what
// `llada generate` printed; an API-key server refuses a wrong key.
// usage: node openai_client_check.mjs BASE_URL API_KEY EXPECTED_JSON
import OpenAI from "openai";
import { readFileSync } from "node:fs";

const [base, key, expectedPath] = process.argv.slice(2);
const expected = JSON.parse(readFileSync(expectedPath, "utf8"));
const client = new OpenAI({ baseURL: base, apiKey: key, maxRetries: 0 });
let failures = 0;
const check = (cond, what) => {
  if (!cond) {
    failures++;
    console.log("FAIL:", what);
  }
};

const models = await client.models.list();
check(models.data.length === 1 && models.data[0].object === "model", `models: ${JSON.stringify(models.data)}`);

for (const c of expected) {
  if (c.path === "/v1/chat/completions") {
    const r = await client.chat.completions.create(c.request);
    check(r.choices[0].message.content === c.text, `chat: ${JSON.stringify(r.choices[0])} vs ${c.text}`);
    const stream = await client.chat.completions.create({ ...c.request, stream: true });
    let text = "", finish = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    check(text === c.text && (finish === "stop" || finish === "length"), `chat stream: '${text}' (${finish}) vs '${c.text}'`);
  } else {
    const r = await client.completions.create(c.request);
    check(r.choices[0].text === c.text, `completion: ${JSON.stringify(r.choices[0])} vs ${c.text}`);
  }
}

const wrong = new OpenAI({ baseURL: base, apiKey: key + "x", maxRetries: 0 });
try {
  await wrong.models.list();
  check(false, "a wrong API key was accepted");
} catch (e) {
  check(e.status === 401, `wrong key: status ${e.status}`);
}
console.log("openai_client_check:", failures ? `${failures} failure(s)` : "ok");
process.exit(failures ? 1 : 0);
