// llada tokenize: encode text (files or stdin) to ids or tokens, or decode ids back to text.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "command.h"
#include "core/error.h"
#include "core/file_io.h"
#include "tokenizer/tokenizer.h"

namespace {

struct Opts {
  std::string tokenizer;
  bool ids = false, tokens = false, decode = false, add_special = false;
  std::vector<std::string> files;
};

std::string read_input(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  return llada::read_file(path);
}

// "1 2 3", "1,2,3" or "[1, 2, 3]" -> ids.
std::vector<int32_t> parse_ids(const std::string& text, const std::string& origin) {
  std::vector<int32_t> ids;
  std::string cleaned = text;
  for (char& c : cleaned)
    if (c == ',' || c == '[' || c == ']' || c == '\n' || c == '\t' || c == '\r') c = ' ';
  std::istringstream in(cleaned);
  std::string tok;
  while (in >> tok) {
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(tok, &used);
    } catch (...) {
      used = 0;
    }
    LLADA_CHECK(used == tok.size() && v >= 0 && v <= INT32_MAX, "--decode: %s: '%s' is not a token id",
                origin.c_str(), tok.c_str());
    ids.push_back(int32_t(v));
  }
  return ids;
}

}  // namespace

static llada::cli::Registration reg(
    "tokenize", "Encode text to token ids (or tokens), or decode ids to text", [](CLI::App& app) {
      auto o = std::make_shared<Opts>();
      app.add_option("--tokenizer", o->tokenizer, "tokenizer.json or a directory holding one")->required();
      auto* ids = app.add_flag("--ids", o->ids, "print token ids (the default)");
      app.add_flag("--tokens", o->tokens, "print the tokens as written in the vocabulary")->excludes(ids);
      app.add_flag("--decode", o->decode, "read token ids and print the text they stand for");
      app.add_flag("--add-special", o->add_special, "apply the tokenizer's post-processor (e.g. BOS)");
      app.add_option("files", o->files, "input files (default: standard input)");
      return [o]() -> int {
        llada::Tokenizer tok = llada::Tokenizer::load(o->tokenizer);
        std::vector<std::string> inputs = o->files.empty() ? std::vector<std::string>{"-"} : o->files;
        for (const std::string& path : inputs) {
          std::string text = read_input(path);
          if (o->decode) {
            std::string out = tok.decode(parse_ids(text, path == "-" ? "stdin" : path));
            std::fwrite(out.data(), 1, out.size(), stdout);
            continue;
          }
          std::vector<int32_t> v = tok.encode(text, o->add_special);
          std::string line;
          for (size_t i = 0; i < v.size(); ++i) {
            if (i) line += ' ';
            line += o->tokens ? tok.id_to_token(v[i]) : std::to_string(v[i]);
          }
          line += '\n';
          std::fwrite(line.data(), 1, line.size(), stdout);
        }
        return 0;
      };
    });
