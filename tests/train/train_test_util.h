// Helpers shared by the training tests: a tiny model configuration, a synthetic token shard, temp dirs.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "train/shards.h"

namespace llada::train::testing {

inline constexpr int32_t kVocab = 24, kEos = 22, kMask = 23;

inline nlohmann::json tiny_model_json(bool causal = false) {
  nlohmann::json j = {{"d_model", 32},        {"n_layers", 2},       {"n_heads", 4},
                      {"n_kv_heads", 2},      {"mlp_hidden_size", 64}, {"vocab_size", kVocab},
                      {"embedding_size", 32}, {"max_sequence_length", 64}, {"rope_theta", 10000.0},
                      {"mask_token_id", kMask}, {"eos_token_id", kEos}, {"pad_token_id", kEos}};
  if (causal) j["causal"] = true;
  return j;
}

// A fresh directory under the system temp dir, removed by the destructor.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag) {
    path = std::filesystem::temp_directory_path() /
           ("llada_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string str(const std::string& rel = "") const { return rel.empty() ? path.string() : (path / rel).string(); }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

// Documents of random length whose tokens follow a learnable pattern (each token is the previous
// plus one, modulo 20), separated by EOS in the shard.
inline void write_pattern_shard(const std::string& path, int n_docs, uint64_t seed) {
  ShardWriter w(path, kVocab, kEos);
  Rng rng(seed);
  std::vector<int32_t> doc;
  for (int d = 0; d < n_docs; ++d) {
    doc.clear();
    int32_t x = int32_t(rng.below(20));
    const int len = 8 + int(rng.below(24));
    for (int i = 0; i < len; ++i) doc.push_back((x + i) % 20);
    w.add_document(doc);
  }
  w.finish();
}

}  // namespace llada::train::testing
