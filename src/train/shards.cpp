// Token shard writer, memory-mapped reader and window sampler (format in shards.h and docs/data.md).
#include "train/shards.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/name_table.h"
#include "train/framed_file.h"

namespace llada::train {

namespace {

using frame::align8;
using frame::get;
using frame::kHeaderBytes;
using frame::put;

// Byte offsets of the shard's own header fields (the frame holds the rest: framed_file.h).
constexpr size_t kOffTokens = 16, kOffDocs = 24, kOffVocab = 32, kOffEos = 40;
constexpr frame::Format kShardFormat{kShardMagic, kShardVersion, "token shard", "a token shard"};

}  // namespace

uint64_t mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

uint64_t checksum64(const uint8_t* data, size_t n, uint64_t seed) {
  // Four independent lanes keep the multiply latency off the critical path (~several GB/s).
  uint64_t h[4] = {seed ^ 0x9e3779b97f4a7c15ull, seed + 1, seed + 2, seed + 3};
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; ++k) {
      uint64_t w;
      std::memcpy(&w, data + i + 8 * k, 8);
      h[k] = (h[k] ^ w) * 0x100000001b3ull;
      h[k] = (h[k] << 29) | (h[k] >> 35);
    }
  }
  uint64_t r = mix64(h[0]) ^ mix64(h[1] + 1) ^ mix64(h[2] + 2) ^ mix64(h[3] + 3);
  for (; i < n; ++i) r = (r ^ data[i]) * 0x100000001b3ull;
  return mix64(r ^ n);
}

// ---------------------------------------------------------------- writer

ShardWriter::ShardWriter(std::string path, int64_t vocab_size, int32_t eos_id)
    : path_(std::move(path)), vocab_size_(vocab_size), eos_(eos_id),
      dtype_bytes_(token_bytes_for_vocab(vocab_size)) {
  LLADA_CHECK(vocab_size > 0 && vocab_size <= (int64_t(1) << 32), "%s: vocabulary size %lld out of range",
              path_.c_str(), (long long)vocab_size);
  LLADA_CHECK(eos_id >= 0 && eos_id < vocab_size, "%s: EOS id %d is not in the vocabulary (size %lld)",
              path_.c_str(), eos_id, (long long)vocab_size);
}

void ShardWriter::add_document(std::span<const int32_t> tokens) {
  LLADA_CHECK(!finished_, "%s: add_document after finish", path_.c_str());
  size_t at = body_.size();
  body_.resize(at + (tokens.size() + 1) * dtype_bytes_);
  uint8_t* p = body_.data() + at;
  auto store = [&](int32_t id) {
    LLADA_CHECK(id >= 0 && id < vocab_size_, "%s: token id %d out of range [0, %lld) in document %lld",
                path_.c_str(), id, (long long)vocab_size_, (long long)n_docs());
    if (dtype_bytes_ == 2) {
      uint16_t v = uint16_t(id);
      std::memcpy(p, &v, 2);
    } else {
      uint32_t v = uint32_t(id);
      std::memcpy(p, &v, 4);
    }
    p += dtype_bytes_;
  };
  for (int32_t id : tokens) store(id);
  store(eos_);
  n_tokens_ += int64_t(tokens.size()) + 1;
  offsets_.push_back(uint64_t(n_tokens_));
}

void ShardWriter::finish() {
  LLADA_CHECK(!finished_, "%s: finish called twice", path_.c_str());
  finished_ = true;
  body_.resize(align8(body_.size()), 0);
  size_t tok_bytes = body_.size();
  body_.resize(tok_bytes + offsets_.size() * 8);
  std::memcpy(body_.data() + tok_bytes, offsets_.data(), offsets_.size() * 8);

  uint8_t h[kHeaderBytes] = {};
  put<uint64_t>(h, kOffTokens, uint64_t(n_tokens_));
  put<uint64_t>(h, kOffDocs, uint64_t(n_docs()));
  put<uint64_t>(h, kOffVocab, uint64_t(vocab_size_));
  put<int32_t>(h, kOffEos, eos_);
  frame::write(path_, kShardFormat, h, uint32_t(dtype_bytes_), body_);
  std::vector<uint8_t>().swap(body_);
}

// ---------------------------------------------------------------- reader

std::shared_ptr<TokenShard> TokenShard::open(const std::string& path, bool verify) {
  std::shared_ptr<TokenShard> s(new TokenShard());
  s->file_ = MappedFile::open(path);
  const uint8_t* d = s->file_->data();
  size_t size = s->file_->size();
  const char* p = path.c_str();
  s->dtype_bytes_ = frame::check_header(d, size, kShardFormat, p);
  LLADA_CHECK(s->dtype_bytes_ == 2 || s->dtype_bytes_ == 4, "%s: token width %u bytes (expected 2 or 4)",
              p, s->dtype_bytes_);
  uint64_t nt = get<uint64_t>(d, kOffTokens), nd = get<uint64_t>(d, kOffDocs);
  uint64_t vocab = get<uint64_t>(d, kOffVocab);
  int32_t eos = get<int32_t>(d, kOffEos);
  LLADA_CHECK(nt < (uint64_t(1) << 48) && nd <= nt, "%s: implausible counts: %llu tokens, %llu documents",
              p, (unsigned long long)nt, (unsigned long long)nd);
  LLADA_CHECK(vocab > 0 && vocab <= (uint64_t(1) << 32) && eos >= 0 && uint64_t(eos) < vocab,
              "%s: vocabulary size %llu / EOS id %d inconsistent", p, (unsigned long long)vocab, eos);
  LLADA_CHECK(s->dtype_bytes_ == token_bytes_for_vocab(int64_t(vocab)),
              "%s: token width %u bytes does not match vocabulary size %llu", p, s->dtype_bytes_,
              (unsigned long long)vocab);
  size_t tok_bytes = align8(size_t(nt) * s->dtype_bytes_);
  size_t expect = kHeaderBytes + tok_bytes + (size_t(nd) + 1) * 8;
  LLADA_CHECK(size == expect,
              "%s: token shard is %zu bytes but its header (%llu tokens of %u bytes, %llu documents) "
              "needs %zu: truncated or corrupted",
              p, size, (unsigned long long)nt, s->dtype_bytes_, (unsigned long long)nd, expect);
  s->n_tokens_ = int64_t(nt);
  s->n_docs_ = int64_t(nd);
  s->vocab_size_ = int64_t(vocab);
  s->eos_ = eos;
  s->tokens_ = d + kHeaderBytes;
  s->offsets_ = reinterpret_cast<const uint64_t*>(d + kHeaderBytes + tok_bytes);  // 8-aligned (mmap)
  if (verify) frame::check_body(d, size, kShardFormat, p);
  // The index is small: always check it, so document() can trust it.
  LLADA_CHECK(s->offsets_[0] == 0 && s->offsets_[nd] == nt, "%s: document index does not span the tokens",
              p);
  for (uint64_t i = 0; i < nd; ++i)
    LLADA_CHECK(s->offsets_[i] < s->offsets_[i + 1],
                "%s: document index not increasing at document %llu", p, (unsigned long long)i);
  if (verify) {
    int64_t bad = -1;
    if (s->dtype_bytes_ == 4) {
      for (int64_t i = 0; i < s->n_tokens_ && bad < 0; ++i)
        if (get<uint32_t>(s->tokens_, size_t(i) * 4) >= vocab) bad = i;
    } else if (vocab < 65536) {
      for (int64_t i = 0; i < s->n_tokens_ && bad < 0; ++i)
        if (get<uint16_t>(s->tokens_, size_t(i) * 2) >= vocab) bad = i;
    }
    LLADA_CHECK(bad < 0, "%s: token %lld has id %d, outside the vocabulary (size %llu)", p, (long long)bad,
                bad < 0 ? 0 : s->token(bad), (unsigned long long)vocab);
  }
  return s;
}

int32_t TokenShard::token(int64_t i) const {
  LLADA_CHECK(i >= 0 && i < n_tokens_, "%s: token %lld out of range [0, %lld)", path().c_str(), (long long)i,
              (long long)n_tokens_);
  return dtype_bytes_ == 2 ? int32_t(get<uint16_t>(tokens_, size_t(i) * 2))
                           : int32_t(get<uint32_t>(tokens_, size_t(i) * 4));
}

void TokenShard::copy(int64_t begin, int64_t count, int32_t* out) const {
  LLADA_CHECK(begin >= 0 && count >= 0 && begin + count <= n_tokens_,
              "%s: token range [%lld, %lld) out of range [0, %lld)", path().c_str(), (long long)begin,
              (long long)(begin + count), (long long)n_tokens_);
  if (dtype_bytes_ == 2) {
    const uint8_t* src = tokens_ + size_t(begin) * 2;
    for (int64_t i = 0; i < count; ++i) out[i] = int32_t(get<uint16_t>(src, size_t(i) * 2));
  } else {
    std::memcpy(out, tokens_ + size_t(begin) * 4, size_t(count) * 4);
  }
}

int64_t TokenShard::doc_begin(int64_t d) const {
  LLADA_CHECK(d >= 0 && d < n_docs_, "%s: document %lld out of range [0, %lld)", path().c_str(), (long long)d,
              (long long)n_docs_);
  return int64_t(offsets_[d]);
}

int64_t TokenShard::doc_end(int64_t d) const {
  LLADA_CHECK(d >= 0 && d < n_docs_, "%s: document %lld out of range [0, %lld)", path().c_str(), (long long)d,
              (long long)n_docs_);
  return int64_t(offsets_[d + 1]);
}

std::vector<int32_t> TokenShard::document(int64_t d) const {
  int64_t b = doc_begin(d), e = doc_end(d);
  std::vector<int32_t> out(size_t(e - b));
  copy(b, e - b, out.data());
  return out;
}

bool is_heldout_document(std::string_view text, double fraction) {
  if (fraction <= 0) return false;
  if (fraction >= 1) return true;
  uint64_t h = checksum64(reinterpret_cast<const uint8_t*>(text.data()), text.size(), 0x5eed);
  return double(h >> 11) * 0x1.0p-53 < fraction;
}

// ---------------------------------------------------------------- windows

namespace {
constexpr NameEntry<WindowMode> kWindowModes[] = {
    {WindowMode::Random, "random"}, {WindowMode::Sequential, "sequential"}, {WindowMode::Shuffled, "shuffled"}};
}  // namespace

WindowMode window_mode_from_name(const std::string& s) { return parse_config_name(kWindowModes, s, "data.window"); }

const char* window_mode_name(WindowMode m) { return name_of(kWindowModes, m); }

std::string WindowState::to_json() const {
  nlohmann::json j;
  j["rng"] = rng;
  j["epoch"] = epoch;
  j["cursor"] = cursor;
  j["served"] = served;
  j["fingerprint"] = fingerprint;
  return j.dump();
}

WindowState WindowState::from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    fail(strformat("data-loader state: invalid JSON: %s", e.what()));
  }
  WindowState s;
  for (const char* k : {"rng", "epoch", "cursor", "served", "fingerprint"})
    LLADA_CHECK(j.contains(k), "data-loader state: missing field '%s'", k);
  try {
    s.rng = j["rng"].get<std::array<uint64_t, 4>>();
    s.epoch = j["epoch"].get<uint64_t>();
    s.cursor = j["cursor"].get<uint64_t>();
    s.served = j["served"].get<uint64_t>();
    s.fingerprint = j["fingerprint"].get<uint64_t>();
  } catch (const std::exception& e) {
    fail(strformat("data-loader state: wrong field type: %s", e.what()));
  }
  return s;
}

WindowReader::WindowReader(std::vector<std::shared_ptr<TokenShard>> shards, int64_t seq_len,
                           WindowMode mode, uint64_t seed)
    : shards_(std::move(shards)), L_(seq_len), mode_(mode), seed_(seed), rng_(seed) {
  LLADA_CHECK(!shards_.empty(), "window reader: no token shards given");
  LLADA_CHECK(L_ > 0, "window reader: sequence length %lld must be positive", (long long)L_);
  uint64_t fp = mix64(uint64_t(L_) ^ (uint64_t(mode_) << 56)) ^ mix64(seed_ + 0x51);
  window_prefix_.push_back(0);
  start_prefix_.push_back(0);
  for (auto& s : shards_) {
    LLADA_CHECK(s != nullptr, "window reader: null shard");
    total_tokens_ += s->n_tokens();
    window_prefix_.push_back(window_prefix_.back() + s->n_tokens() / L_);
    start_prefix_.push_back(start_prefix_.back() + std::max<int64_t>(0, s->n_tokens() - L_ + 1));
    fp = mix64(fp ^ uint64_t(s->n_tokens())) ^ mix64(uint64_t(s->n_docs()) + 7);
  }
  n_windows_ = window_prefix_.back();
  n_starts_ = start_prefix_.back();
  LLADA_CHECK(n_windows_ > 0, "window reader: the shards hold %lld tokens in all, none is as long as one "
              "window of %lld tokens (first shard %s)", (long long)total_tokens_, (long long)L_,
              shards_[0]->path().c_str());
  LLADA_CHECK(mode_ != WindowMode::Shuffled || n_windows_ < (int64_t(1) << 32),
              "window reader: %lld windows is too many for shuffled mode", (long long)n_windows_);
  state_.rng = rng_.state();
  state_.fingerprint = fp;
  if (mode_ == WindowMode::Shuffled) start_epoch();
}

void WindowReader::start_epoch() {
  perm_.resize(size_t(n_windows_));
  for (size_t i = 0; i < perm_.size(); ++i) perm_[i] = uint32_t(i);
  // The order depends only on (seed, epoch), so a restored state rebuilds it exactly.
  Rng r(mix64(seed_ ^ 0xa5a5a5a5ull) ^ mix64(state_.epoch + 1));
  for (size_t i = perm_.size(); i > 1; --i) std::swap(perm_[i - 1], perm_[r.below(i)]);
}

void WindowReader::locate_window(uint64_t w, size_t& shard, int64_t& start) const {
  auto it = std::upper_bound(window_prefix_.begin(), window_prefix_.end(), int64_t(w));
  shard = size_t(it - window_prefix_.begin()) - 1;
  start = (int64_t(w) - window_prefix_[shard]) * L_;
}

void WindowReader::next_window(int32_t* out) {
  size_t shard = 0;
  int64_t start = 0;
  if (mode_ == WindowMode::Random) {
    int64_t g = int64_t(rng_.below(uint64_t(n_starts_)));
    auto it = std::upper_bound(start_prefix_.begin(), start_prefix_.end(), g);
    shard = size_t(it - start_prefix_.begin()) - 1;
    start = g - start_prefix_[shard];
    state_.rng = rng_.state();
  } else {
    uint64_t w = mode_ == WindowMode::Shuffled ? perm_[state_.cursor] : state_.cursor;
    locate_window(w, shard, start);
    if (++state_.cursor == uint64_t(n_windows_)) {
      state_.cursor = 0;
      ++state_.epoch;
      if (mode_ == WindowMode::Shuffled) start_epoch();
    }
  }
  shards_[shard]->copy(start, L_, out);
  ++state_.served;
  if (mode_ == WindowMode::Random) state_.epoch = state_.served / uint64_t(n_windows_);
}

void WindowReader::next_batch(int64_t B, int32_t* out) {
  for (int64_t b = 0; b < B; ++b) next_window(out + b * L_);
}

void WindowReader::set_state(const WindowState& s) {
  LLADA_CHECK(s.fingerprint == state_.fingerprint,
              "data-loader state was saved for different data or settings (fingerprint %016llx, this "
              "reader %016llx: same shards, sequence length %lld, mode %s and seed needed)",
              (unsigned long long)s.fingerprint, (unsigned long long)state_.fingerprint, (long long)L_,
              window_mode_name(mode_));
  LLADA_CHECK(s.cursor < uint64_t(n_windows_), "data-loader state: cursor %llu out of range (%lld windows)",
              (unsigned long long)s.cursor, (long long)n_windows_);
  state_ = s;
  rng_.set_state(s.rng);
  if (mode_ == WindowMode::Shuffled) start_epoch();
}

}  // namespace llada::train
