// Reference speed for bench/tokenizer_bench.sh: encodes the documents of a text file (split as the C++
// bench splits them: blocks of 64 lines) with @huggingface/tokenizers and prints MB/s and the token count.
// usage: node bench.mjs TOKENIZER_JSON TEXT_FILE
import { readFileSync } from "node:fs";
import { loadTokenizerFile } from "./load.mjs";

const [, , tokPath, textPath] = process.argv;
const tok = loadTokenizerFile(tokPath);
const lines = readFileSync(textPath, "utf8").split(/(?<=\n)/);
const docs = [];
for (let i = 0; i < lines.length; i += 64) docs.push(lines.slice(i, i + 64).join(""));
const bytes = Buffer.byteLength(docs.join(""), "utf8");
let tokens = 0;
const t0 = process.hrtime.bigint();
for (const d of docs) tokens += tok.encode(d, { add_special_tokens: false }).ids.length;
const sec = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ mb_per_s: bytes / 1e6 / sec, seconds: sec, tokens, bytes }));
