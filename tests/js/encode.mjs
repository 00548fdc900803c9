// Reference encoder for the C++ tokenizer tests: loads a tokenizer.json (and tokenizer_config.json beside it
// when present) with @huggingface/tokenizers and prints, as JSON, the ids of every text in a JSON array.
// usage: node encode.mjs TOKENIZER_JSON TEXTS_JSON [--decode]
//   prints {"ids": [[...], ...], "decoded": [...]} (decoded only with --decode)
import { readFileSync } from "node:fs";
import { loadTokenizerFile } from "./load.mjs";

const [, , tokPath, textsPath, ...flags] = process.argv;
if (!tokPath || !textsPath) {
  console.error("usage: node encode.mjs TOKENIZER_JSON TEXTS_JSON [--decode]");
  process.exit(2);
}
const tok = loadTokenizerFile(tokPath);
const texts = JSON.parse(readFileSync(textsPath, "utf8"));
const out = { ids: texts.map((t) => tok.encode(t, { add_special_tokens: false }).ids) };
if (flags.includes("--decode")) {
  out.decoded = out.ids.map((ids) =>
    ids.length ? tok.decode(ids, { clean_up_tokenization_spaces: false }) : "");
}
process.stdout.write(JSON.stringify(out) + "\n");
