// Loads a tokenizer.json (and the tokenizer_config.json beside it, if any) with the reference.
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";

export function loadTokenizerFile(path) {
  const json = JSON.parse(readFileSync(path, "utf8"));
  const cfgPath = join(dirname(path), "tokenizer_config.json");
  const cfg = existsSync(cfgPath) ? JSON.parse(readFileSync(cfgPath, "utf8")) : {};
  return new Tokenizer(json, cfg);
}
