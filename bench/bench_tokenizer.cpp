// Tokenizer speed: encode MB/s of a text file (documents = blocks of 64 lines) with 1 thread and with
// all threads, and optionally the time to train a BPE vocabulary on it. Prints one JSON line per
// measurement; bench/tokenizer_bench.sh runs it beside the JavaScript reference.
// usage: bench_tokenizer encode TOKENIZER TEXT_FILE
//        bench_tokenizer train VOCAB_SIZE TEXT_FILE [--char-level]
#include <omp.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "core/sys.h"
#include "tokenizer/tokenizer.h"

using namespace llada;

static std::vector<std::string> documents(const std::string& text) {
  std::vector<std::string> docs;
  size_t start = 0, lines = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && ++lines % 64 == 0) {
      docs.push_back(text.substr(start, i + 1 - start));
      start = i + 1;
    }
  }
  if (start < text.size()) docs.push_back(text.substr(start));
  return docs;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s encode TOKENIZER TEXT | train VOCAB TEXT [--char-level]\n", argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  std::string text = read_file(argv[3]);
  double mb = double(text.size()) / 1e6;
  if (mode == "train") {
    TrainOptions opt;
    opt.vocab_size = std::stoll(argv[2]);
    opt.show_progress = false;
    bool char_level = argc > 4 && std::strcmp(argv[4], "--char-level") == 0;
    double t0 = now_seconds();
    Tokenizer tok = char_level ? train_char_level_from_texts({text}, opt) : train_bpe_from_texts({text}, opt);
    double sec = now_seconds() - t0;
    std::printf("{\"train\": \"%s\", \"vocab\": %lld, \"mb\": %.2f, \"seconds\": %.2f, \"threads\": %d}\n",
                char_level ? "char" : "bpe", (long long)tok.vocab_size(), mb, sec, omp_get_max_threads());
    return 0;
  }
  auto docs = documents(text);
  int max_threads = omp_get_max_threads();
  std::vector<int> settings = {1};
  if (max_threads > 1) settings.push_back(max_threads);
  for (int threads : settings) {
    omp_set_num_threads(threads);
    // A fresh load per setting: the per-thread word caches start cold (they are keyed by the instance).
    double t0 = now_seconds();
    Tokenizer tok = Tokenizer::load(argv[2]);
    double load = now_seconds() - t0;
    for (const char* pass : {"cold", "warm"}) {
      t0 = now_seconds();
      auto ids = tok.encode_batch(docs);
      double sec = now_seconds() - t0;
      size_t tokens = 0;
      for (auto& v : ids) tokens += v.size();
      std::printf("{\"threads\": %d, \"cache\": \"%s\", \"mb_per_s\": %.2f, \"seconds\": %.3f, "
                  "\"tokens\": %zu, \"mb\": %.2f, \"load_seconds\": %.2f}\n",
                  threads, pass, mb / sec, sec, tokens, mb, load);
    }
  }
  return 0;
}
