// Runs the JavaScript reference (tests/js/encode.mjs on npm @huggingface/tokenizers) on a list of texts
// and returns its ids. Fails the calling test, with the fix in the message, if node_modules is missing.
#pragma once
#include <string>
#include <vector>

namespace llada::test {

std::string js_dir();  // <source>/tests/js
// Empty string if the reference can run; otherwise why not (the caller FAILs with it).
std::string js_reference_problem();
// ids[i] of texts[i] encoded by the reference with the tokenizer.json at tokenizer_path.
std::vector<std::vector<int32_t>> js_encode(const std::string& tokenizer_path, const std::vector<std::string>& texts);
std::string llama3_tokenizer_path();

}  // namespace llada::test
