// llada prepare: tokenizes text corpora into token shards (pre-training) or SFT JSON lines into a
// sample file, with a hash-based held-out split. Formats: src/train/shards.h, src/train/sft_data.h,
// docs/data.md.
//
//   pre-training  FILES are .txt (documents separated by an empty line; --line-docs: one per line) or
//                 .jsonl ({"text": ...} per line). Writes OUT/train.tok and OUT/heldout.tok.
//   --sft         FILES are .jsonl ({"prompt","response"} or {"messages"}). Writes OUT/train.sft and
//                 OUT/heldout.sft; the split hashes the prompt so no prompt lands in both.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "command.h"
#include "core/error.h"
#include "core/jsonl.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "tokenizer/tokenizer.h"
#include "train/sft_data.h"
#include "train/shards.h"

namespace {

using namespace llada;

struct PrepareArgs {
  std::string tokenizer, out;
  std::vector<std::string> files;
  bool sft = false, line_docs = false;
  double heldout = 0.0;
  int64_t max_len = 0;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Splits a text file into documents: blocks separated by one or more empty lines (or single lines).
void read_text_documents(const std::string& path, bool line_docs, std::vector<std::string>& docs) {
  std::string text = read_file(path);
  std::string cur;
  size_t i = 0;
  auto flush = [&] {
    while (!cur.empty() && cur.back() == '\n') cur.pop_back();
    if (!cur.empty()) docs.push_back(std::move(cur));
    cur.clear();
  };
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    std::string_view line(text.data() + i, j - i);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    bool blank = line.find_first_not_of(" \t") == std::string_view::npos;
    if (blank || line_docs) {
      if (!blank) cur.append(line);
      flush();
    } else {
      if (!cur.empty()) cur.push_back('\n');
      cur.append(line);
    }
    i = j + 1;
  }
  flush();
}

void read_jsonl_documents(const std::string& path, std::vector<std::string>& docs) {
  for_each_jsonl(path, "", [&](const nlohmann::json& j, const std::string& where, int64_t) {
    docs.push_back(json_string(j, "text", where));
    return true;
  });
}

int prepare_pretrain(const PrepareArgs& a, const Tokenizer& tok) {
  std::vector<std::string> docs;
  for (const auto& f : a.files) {
    size_t before = docs.size();
    if (ends_with(f, ".jsonl")) read_jsonl_documents(f, docs);
    else read_text_documents(f, a.line_docs, docs);
    std::printf("%s: %zu documents\n", f.c_str(), docs.size() - before);
  }
  LLADA_CHECK(!docs.empty(), "prepare: no documents in the input files");
  int32_t eos = tok.special().eos;
  train::ShardWriter train(a.out + "/train.tok", tok.vocab_size(), eos);
  train::ShardWriter held(a.out + "/heldout.tok", tok.vocab_size(), eos);
  Progress bar("tokenize", int64_t(docs.size()), "doc");
  const size_t chunk = 4096;
  std::vector<std::string> batch;
  std::vector<bool> is_held;
  for (size_t at = 0; at < docs.size(); at += chunk) {
    size_t end = std::min(docs.size(), at + chunk);
    batch.assign(std::make_move_iterator(docs.begin() + long(at)), std::make_move_iterator(docs.begin() + long(end)));
    is_held.clear();
    for (auto& d : batch) is_held.push_back(train::is_heldout_document(d, a.heldout));
    auto ids = tok.encode_batch(batch, false);
    for (size_t k = 0; k < ids.size(); ++k) (is_held[k] ? held : train).add_document(ids[k]);
    bar.update(int64_t(end), strformat("%lld tokens", (long long)(train.n_tokens() + held.n_tokens())));
  }
  bar.finish();
  train.finish();
  std::printf("train:   %lld documents, %lld tokens -> %s/train.tok\n", (long long)train.n_docs(),
              (long long)train.n_tokens(), a.out.c_str());
  if (held.n_docs() > 0) {
    held.finish();
    std::printf("heldout: %lld documents, %lld tokens -> %s/heldout.tok\n", (long long)held.n_docs(),
                (long long)held.n_tokens(), a.out.c_str());
  } else {
    std::remove((a.out + "/heldout.tok").c_str());  // never leave a stale split from an earlier run
  }
  std::printf("vocabulary %lld (%u-byte tokens), EOS id %d\n", (long long)tok.vocab_size(),
              train::token_bytes_for_vocab(tok.vocab_size()), eos);
  return 0;
}

int prepare_sft(const PrepareArgs& a, const Tokenizer& tok) {
  std::vector<train::SftExample> examples;
  for (const auto& f : a.files) {
    auto ex = train::read_sft_jsonl(f);
    std::printf("%s: %zu samples\n", f.c_str(), ex.size());
    for (auto& e : ex) examples.push_back(std::move(e));
  }
  LLADA_CHECK(!examples.empty(), "prepare --sft: no samples in the input files");
  int32_t eos = tok.special().eos;
  train::SftWriter train(a.out + "/train.sft", tok.vocab_size(), eos);
  train::SftWriter held(a.out + "/heldout.sft", tok.vocab_size(), eos);
  Progress bar("tokenize", int64_t(examples.size()), "sample");
  const size_t chunk = 8192;
  std::vector<train::TokenizedSample> toks(chunk);
  int64_t dropped = 0, longest = 0, prompt_tokens = 0;
  for (size_t at = 0; at < examples.size(); at += chunk) {
    size_t n = std::min(chunk, examples.size() - at);
#pragma omp parallel for schedule(dynamic, 64)
    for (size_t k = 0; k < n; ++k) toks[k] = train::tokenize_sft(tok, examples[at + k]);
    for (size_t k = 0; k < n; ++k) {
      const auto& s = toks[k];
      if (a.max_len > 0 && int64_t(s.ids.size()) > a.max_len) {
        ++dropped;  // truncating would cut the EOS the model must learn: drop instead
        continue;
      }
      // Split by the rendered prompt so an identical prompt never lands on both sides.
      std::string key;
      for (auto& m : examples[at + k].prompt) key += m.role + '\x1f' + m.content + '\x1e';
      bool h = train::is_heldout_document(key, a.heldout);
      (h ? held : train).add(s.ids, s.prompt_len);
      longest = std::max<int64_t>(longest, int64_t(s.ids.size()));
      prompt_tokens += s.prompt_len;
    }
    bar.update(int64_t(at + n));
  }
  bar.finish();
  LLADA_CHECK(train.n_samples() > 0, "prepare --sft: every sample went to the held-out split or was dropped");
  train.finish();
  std::printf("train:   %lld samples, %lld tokens -> %s/train.sft\n", (long long)train.n_samples(),
              (long long)train.n_tokens(), a.out.c_str());
  if (held.n_samples() > 0) {
    held.finish();
    std::printf("heldout: %lld samples, %lld tokens -> %s/heldout.sft\n", (long long)held.n_samples(),
                (long long)held.n_tokens(), a.out.c_str());
  } else {
    std::remove((a.out + "/heldout.sft").c_str());  // never leave a stale split from an earlier run
  }
  int64_t kept = train.n_samples() + held.n_samples();
  std::printf("longest sample %lld tokens, mean prompt %.1f tokens, mean sample %.1f tokens", (long long)longest,
              double(prompt_tokens) / double(kept), double(train.n_tokens() + held.n_tokens()) / double(kept));
  if (dropped > 0) std::printf(", %lld samples longer than --max-len %lld dropped", (long long)dropped,
                               (long long)a.max_len);
  std::printf("\n");
  return 0;
}

llada::cli::Registration reg(
    "prepare", "Tokenize text into token shards (pre-training) or SFT JSON lines into a sample file",
    [](CLI::App& app) {
      auto a = std::make_shared<PrepareArgs>();
      app.add_option("--tokenizer", a->tokenizer, "tokenizer.json or a directory holding one")->required();
      app.add_option("--out", a->out, "output directory (created)")->required();
      app.add_flag("--sft", a->sft, "inputs are SFT JSON lines ({prompt,response} or {messages})");
      app.add_option("--heldout-fraction", a->heldout, "fraction of documents (samples) held out, by hash")
          ->check(CLI::Range(0.0, 1.0));
      app.add_option("--max-len", a->max_len, "SFT: drop samples longer than this many tokens (0 = keep all)");
      app.add_flag("--line-docs", a->line_docs, "text files hold one document per line");
      app.add_option("files", a->files, "input files (.txt or .jsonl)")->required();
      return [a]() -> int {
        for (const auto& f : a->files) LLADA_CHECK(file_exists(f), "prepare: input file %s not found", f.c_str());
        Tokenizer tok = Tokenizer::load(a->tokenizer);
        LLADA_CHECK(tok.special().eos >= 0, "%s: the tokenizer has no EOS token (<|endoftext|>)",
                    a->tokenizer.c_str());
        make_dirs(a->out);
        return a->sft ? prepare_sft(*a, tok) : prepare_pretrain(*a, tok);
      };
    });

}  // namespace
