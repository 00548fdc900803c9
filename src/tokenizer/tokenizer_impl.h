// Internal state of a loaded Tokenizer (shared, immutable after load). Not part of the public API.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer/bpe.h"
#include "tokenizer/regex.h"
#include "tokenizer/tokenizer.h"

namespace llada {

struct AddedTokenInfo {
  int32_t id = -1;
  std::string content;
  bool lstrip = false, rstrip = false, normalized = false, special = false;
};

// Leftmost-longest matcher of added-token contents over bytes (the reference's DictionarySplitter).
class TokenTrie {
 public:
  void add(const std::string& s, int32_t value);
  // Longest token starting at text[i]: its length and value, or 0.
  size_t match(std::string_view text, size_t i, int32_t* value) const;
  bool empty() const { return nodes_.size() <= 1; }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> next;  // byte -> node index
    int32_t value = -1;
  };
  std::vector<Node> nodes_{Node{}};
  bool first_byte_[256] = {};
};

enum class NormalizerKind { kNFC };

struct PreTokStep {
  enum Kind { kSplit, kByteLevel } kind = kSplit;
  std::shared_ptr<Regex> regex;  // kSplit, and kByteLevel with use_regex
  bool removed = false;          // kSplit: drop the matches instead of isolating them
  bool add_prefix_space = false; // kByteLevel
};

struct TokenizerImpl {
  std::string origin;  // file name for messages
  nlohmann::json json, config;
  BpeModel model;
  std::vector<std::string> vocab_text;  // id -> token as written (byte-level form or added content)
  StringIdMap text_to_id;
  std::vector<AddedTokenInfo> added;    // in file order
  std::vector<int32_t> added_index;     // id -> index in `added`, or -1
  TokenTrie raw_trie, normalized_trie;  // added tokens matched before / after normalization
  std::vector<NormalizerKind> normalizers;
  std::vector<PreTokStep> pre;
  std::vector<std::string> template_single;  // post-processor: token texts, "$A" for the sequence
  SpecialIds special;
  std::string chat_template;
  int64_t vocab_size = 0;

  void encode_into(std::string_view text, bool add_special, std::vector<int32_t>* out) const;
  void encode_plain(std::string_view text, std::vector<int32_t>* out) const;  // no added tokens
  std::string normalize(std::string_view text) const;
};

}  // namespace llada
