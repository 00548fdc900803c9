// Training: byte-level BPE (the classic algorithm with incremental pair counts and a lazy max-heap) and
// a character-level vocabulary. Both are written as ordinary tokenizer.json files that the reference
// loads and encodes identically (tests/tokenizer/test_trained_exact.cpp).
#include <omp.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <queue>
#include <unordered_map>

#include "core/error.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/regex.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace llada {

using nlohmann::json;

namespace {

// LLaMA-3's split regex: contractions, words with one leading non-letter, numbers of up to 3 digits,
// punctuation runs, newline runs and whitespace.
const char* kSplitRegex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// One piece per character (char-level mode); invalid bytes fall in the gaps and become byte tokens.
const char* kCharRegex = "[\\s\\S]";

const char* kChatTemplate =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

std::vector<std::string> read_all(const std::vector<std::string>& files) {
  LLADA_CHECK(!files.empty(), "train-tokenizer: no input files");
  std::vector<std::string> texts;
  for (const auto& f : files) texts.push_back(read_file(f));
  return texts;
}

// Cuts text into pieces of about `target` bytes at a newline followed by a non-space, so the split
// regex sees (almost) the same pre-tokens as on the whole text.
std::vector<std::string_view> chunks(const std::vector<std::string>& texts, size_t target) {
  std::vector<std::string_view> out;
  for (const std::string& t : texts) {
    std::string_view s = t;
    while (s.size() > target) {
      size_t cut = target;
      while (cut < s.size() && !(s[cut - 1] == '\n' && s[cut] != '\n' && s[cut] != ' ' && s[cut] != '\r' &&
                                 s[cut] != '\t'))
        ++cut;
      out.push_back(s.substr(0, cut));
      s.remove_prefix(cut);
    }
    if (!s.empty()) out.push_back(s);
  }
  return out;
}

using WordCounts = std::unordered_map<std::string, int64_t>;

WordCounts count_words(const std::vector<std::string>& texts, const Regex& re, bool show_progress) {
  auto parts = chunks(texts, 1 << 20);
  int64_t total = 0;
  for (auto p : parts) total += int64_t(p.size());
  Progress progress("pre-tokenize", total, "B");
  int nt = omp_get_max_threads();
  std::vector<WordCounts> local(static_cast<size_t>(nt));
  int64_t done = 0;
#pragma omp parallel
  {
    WordCounts& mine = local[size_t(omp_get_thread_num())];
    std::vector<std::pair<size_t, size_t>> m;
#pragma omp for schedule(dynamic, 1)
    for (size_t i = 0; i < parts.size(); ++i) {
      std::string_view s = parts[i];
      m.clear();
      re.find_all(s, &m);
      size_t prev = 0;
      for (auto [a, b] : m) {
        if (a > prev) ++mine[std::string(s.substr(prev, a - prev))];
        if (b > a) ++mine[std::string(s.substr(a, b - a))];
        prev = b;
      }
      if (prev < s.size()) ++mine[std::string(s.substr(prev))];
#pragma omp critical
      {
        done += int64_t(s.size());
        if (show_progress) progress.update(done);
      }
    }
  }
  if (show_progress) progress.finish();
  WordCounts all = std::move(local[0]);
  for (size_t t = 1; t < local.size(); ++t)
    for (auto& [w, c] : local[t]) all[w] += c;
  return all;
}

json added_tokens_json(const std::vector<std::string>& specials, int32_t first_id) {
  json arr = json::array();
  for (size_t i = 0; i < specials.size(); ++i) {
    arr.push_back({{"id", first_id + int32_t(i)},
                   {"content", specials[i]},
                   {"single_word", false},
                   {"lstrip", false},
                   {"rstrip", false},
                   {"normalized", false},
                   {"special", true}});
  }
  return arr;
}

// Assembles tokenizer.json + tokenizer_config.json and loads them (which also validates them).
Tokenizer build(const std::vector<std::string>& pieces, const std::vector<std::pair<int32_t, int32_t>>& merges,
                bool ignore_merges, const char* split_regex, const TrainOptions& opt) {
  json vocab = json::object();
  for (size_t id = 0; id < pieces.size(); ++id) vocab[byte_level::encode(pieces[id])] = int32_t(id);
  json jm = json::array();
  for (auto [a, b] : merges)
    jm.push_back(json::array({byte_level::encode(pieces[size_t(a)]), byte_level::encode(pieces[size_t(b)])}));
  json tj = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added_tokens_json(opt.special_tokens, int32_t(pieces.size()))},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         json::array({{{"type", "Split"}, {"pattern", {{"Regex", split_regex}}}, {"behavior", "Isolated"},
                       {"invert", false}},
                      {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                       {"use_regex", false}}})}}},
      {"post_processor",
       {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", ignore_merges},
        {"vocab", vocab},
        {"merges", jm}}}};
  json cfg = {{"tokenizer_class", "PreTrainedTokenizerFast"},
              {"clean_up_tokenization_spaces", false},
              {"model_max_length", 1 << 20}};
  auto has = [&](const char* s) {
    return std::find(opt.special_tokens.begin(), opt.special_tokens.end(), s) != opt.special_tokens.end();
  };
  if (has("<|startoftext|>")) cfg["bos_token"] = "<|startoftext|>";
  if (has("<|endoftext|>")) cfg["eos_token"] = cfg["pad_token"] = "<|endoftext|>";
  if (has("<|start_header_id|>") && has("<|end_header_id|>") && has("<|eot_id|>") && has("<|startoftext|>"))
    cfg["chat_template"] = kChatTemplate;
  json decoder = json::object();
  for (size_t i = 0; i < opt.special_tokens.size(); ++i)
    decoder[std::to_string(pieces.size() + i)] = {{"content", opt.special_tokens[i]}, {"lstrip", false},
                                                  {"normalized", false}, {"rstrip", false},
                                                  {"single_word", false}, {"special", true}};
  cfg["added_tokens_decoder"] = decoder;
  return Tokenizer::from_json(tj.dump(), cfg.dump(), "trained tokenizer.json");
}

void check_options(const TrainOptions& opt, int64_t min_vocab) {
  LLADA_CHECK(opt.vocab_size >= min_vocab, "--vocab-size %lld is too small: need at least %lld (256 bytes + %zu special tokens)",
              (long long)opt.vocab_size, (long long)min_vocab, opt.special_tokens.size());
  LLADA_CHECK(opt.vocab_size <= INT32_MAX, "--vocab-size %lld is too large", (long long)opt.vocab_size);
  for (const auto& s : opt.special_tokens) LLADA_CHECK(!s.empty(), "empty special token");
}

}  // namespace

namespace {

// The BPE trainer's working state: the words as symbol ids with their frequencies (in sorted
// order, so training is deterministic), the count of every adjacent pair, the words each pair
// occurs in, and a max-heap of (count, pair) whose stale entries are re-checked when popped.
class MergeState {
 public:
  explicit MergeState(WordCounts&& counts) {
    std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
    counts.clear();
    std::sort(sorted.begin(), sorted.end());
    words_.resize(sorted.size());
    freq_.resize(sorted.size());
    for (size_t w = 0; w < sorted.size(); ++w) {
      freq_[w] = sorted[w].second;
      for (unsigned char b : sorted[w].first) words_[w].push_back(int32_t(b));
    }
    for (size_t w = 0; w < words_.size(); ++w) {
      const auto& s = words_[w];
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        const uint64_t k = key(s[i], s[i + 1]);
        pair_count_[k] += freq_[w];
        auto& v = where_[k];
        if (v.empty() || v.back() != int32_t(w)) v.push_back(int32_t(w));
      }
    }
    for (auto& [k, c] : pair_count_) heap_.push({c, k});
  }

  static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

  // The most frequent pair (ties: the smaller key) if it occurs at least min_count times.
  bool pop_best(int64_t min_count, uint64_t* best) {
    while (!heap_.empty()) {
      auto [c, k] = heap_.top();
      heap_.pop();
      auto it = pair_count_.find(k);
      const int64_t cur = it == pair_count_.end() ? 0 : it->second;
      if (cur != c) {
        if (cur > 0) heap_.push({cur, k});
        continue;
      }
      if (c < min_count) return false;
      *best = k;
      return true;
    }
    return false;
  }

  // Replaces the pair k by the new symbol x in every word that holds it.
  void merge(uint64_t k, int32_t x) {
    const int32_t a = int32_t(k >> 32), b = int32_t(k & 0xFFFFFFFFu);
    std::vector<int32_t> affected = std::move(where_[k]);
    where_.erase(k);
    for (int32_t w : affected) rewrite(w, a, b, x);
    pair_count_.erase(k);
  }

 private:
  using Entry = std::pair<int64_t, uint64_t>;
  struct Worse {
    bool operator()(const Entry& p, const Entry& q) const {
      return p.first != q.first ? p.first < q.first : p.second > q.second;
    }
  };

  // Word w: remove its old pairs, rewrite it left to right, add its new pairs.
  void rewrite(int32_t w, int32_t a, int32_t b, int32_t x) {
    auto& s = words_[size_t(w)];
    bool found = false;
    for (size_t i = 0; i + 1 < s.size(); ++i) found |= s[i] == a && s[i + 1] == b;
    if (!found) return;
    const int64_t f = freq_[size_t(w)];
    for (size_t i = 0; i + 1 < s.size(); ++i) pair_count_[key(s[i], s[i + 1])] -= f;
    merged_.clear();
    for (size_t i = 0; i < s.size();) {
      if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
        merged_.push_back(x);
        i += 2;
      } else {
        merged_.push_back(s[i++]);
      }
    }
    s = merged_;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      const uint64_t nk = key(s[i], s[i + 1]);
      pair_count_[nk] += f;
      if (s[i] == x || s[i + 1] == x) {
        auto& v = where_[nk];
        if (v.empty() || v.back() != w) v.push_back(w);
      }
    }
    for (size_t i = 0; i + 1 < s.size(); ++i)
      if (s[i] == x || s[i + 1] == x) {
        const uint64_t nk = key(s[i], s[i + 1]);
        heap_.push({pair_count_[nk], nk});
      }
  }

  std::vector<std::vector<int32_t>> words_;
  std::vector<int64_t> freq_;
  std::unordered_map<uint64_t, int64_t> pair_count_;
  std::unordered_map<uint64_t, std::vector<int32_t>> where_;
  std::priority_queue<Entry, std::vector<Entry>, Worse> heap_;
  std::vector<int32_t> merged_;
};

}  // namespace

Tokenizer train_bpe_from_texts(const std::vector<std::string>& texts, const TrainOptions& opt) {
  const int64_t n_special = int64_t(opt.special_tokens.size());
  check_options(opt, 256 + n_special);
  Regex re(kSplitRegex, "trainer split regex");
  MergeState st(count_words(texts, re, opt.show_progress));
  std::vector<std::string> pieces(256);
  for (int b = 0; b < 256; ++b) pieces[size_t(b)] = std::string(1, char(b));
  const int64_t n_merges = opt.vocab_size - 256 - n_special;
  std::vector<std::pair<int32_t, int32_t>> merges;
  Progress progress("merges", n_merges, "merges");
  uint64_t k = 0;
  while (int64_t(merges.size()) < n_merges && st.pop_best(std::max<int64_t>(opt.min_frequency, 1), &k)) {
    const int32_t a = int32_t(k >> 32), b = int32_t(k & 0xFFFFFFFFu);
    const int32_t x = int32_t(pieces.size());
    pieces.push_back(pieces[size_t(a)] + pieces[size_t(b)]);
    merges.emplace_back(a, b);
    st.merge(k, x);
    if (opt.show_progress) progress.update(int64_t(merges.size()));
  }
  if (opt.show_progress) progress.finish();
  return build(pieces, merges, false, kSplitRegex, opt);
}

Tokenizer train_char_level_from_texts(const std::vector<std::string>& texts, const TrainOptions& opt) {
  const int64_t n_special = int64_t(opt.special_tokens.size());
  check_options(opt, 256 + n_special);
  std::unordered_map<uint32_t, int64_t> counts;
  for (const std::string& t : texts) {
    for (size_t i = 0; i < t.size();) {
      uint32_t cp;
      size_t n = utf8::decode(t, i, &cp);
      if (n > 1) ++counts[cp];  // one-byte characters are byte tokens already
      i += n ? n : 1;
    }
  }
  std::vector<std::pair<int64_t, uint32_t>> order;
  for (auto [cp, c] : counts)
    if (c >= opt.min_frequency) order.emplace_back(-c, cp);
  std::sort(order.begin(), order.end());
  size_t keep = std::min(order.size(), size_t(opt.vocab_size - 256 - n_special));
  std::vector<std::string> pieces(256);
  for (int b = 0; b < 256; ++b) pieces[size_t(b)] = std::string(1, char(b));
  for (size_t i = 0; i < keep; ++i) {
    std::string s;
    utf8::append(s, order[i].second);
    pieces.push_back(s);
  }
  // No merges: with ignore_merges a character in the vocabulary is one token and any other falls back
  // to its bytes.
  return build(pieces, {}, true, kCharRegex, opt);
}

Tokenizer train_bpe(const std::vector<std::string>& files, const TrainOptions& opt) {
  return train_bpe_from_texts(read_all(files), opt);
}

Tokenizer train_char_level(const std::vector<std::string>& files, const TrainOptions& opt) {
  return train_char_level_from_texts(read_all(files), opt);
}

}  // namespace llada
