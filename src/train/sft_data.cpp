// SFT JSONL parsing, chat-format tokenization, the binary sample file and the batch loader.
#include "train/sft_data.h"

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/jsonl.h"
#include "train/framed_file.h"
#include "train/shards.h"

namespace llada::train {

namespace {

using frame::align8;
using frame::get;
using frame::kHeaderBytes;
using frame::put;

constexpr size_t kEntryBytes = 16;
// Byte offsets of the SFT file's own header fields (the frame holds the rest: framed_file.h).
constexpr size_t kOffSamples = 16, kOffTokens = 24, kOffVocab = 32, kOffEos = 40;
constexpr frame::Format kSftFormat{kSftMagic, kSftVersion, "SFT file", "an SFT sample file"};


// The chat template trims message content like Python's str.strip(); trimming the response the same
// way keeps a sample identical to the rendered conversation.
std::string trim(const std::string& s) {
  const char* ws = " \t\n\r\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}


}  // namespace

// ---------------------------------------------------------------- parsing

std::vector<SftExample> parse_sft_line(std::string_view line, const std::string& origin) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line.begin(), line.end());
  } catch (const nlohmann::json::parse_error& e) {
    fail(strformat("%s: invalid JSON: %s", origin.c_str(), e.what()));
  }
  LLADA_CHECK(j.is_object(), "%s: expected a JSON object, found %s", origin.c_str(), j.type_name());
  return sft_examples_of(j, origin);
}

std::vector<SftExample> sft_examples_of(const nlohmann::json& j, const std::string& origin) {
  std::vector<SftExample> out;
  if (j.contains("messages")) {
    const auto& msgs = j["messages"];
    LLADA_CHECK(msgs.is_array() && !msgs.empty(), "%s: \"messages\" must be a non-empty array",
                origin.c_str());
    std::vector<ChatMessage> conv;
    for (size_t k = 0; k < msgs.size(); ++k) {
      std::string where = strformat("%s: messages[%zu]", origin.c_str(), k);
      LLADA_CHECK(msgs[k].is_object(), "%s: expected an object with \"role\" and \"content\"", where.c_str());
      ChatMessage m{json_string(msgs[k], "role", where), json_string(msgs[k], "content", where)};
      LLADA_CHECK(m.role == "system" || m.role == "user" || m.role == "assistant",
                  "%s: role \"%s\" (expected system, user or assistant)", where.c_str(), m.role.c_str());
      if (m.role == "assistant") {
        bool has_user = false;
        for (auto& c : conv) has_user |= c.role == "user";
        LLADA_CHECK(has_user, "%s: assistant turn with no user turn before it", where.c_str());
        out.push_back({conv, m.content});
      }
      conv.push_back(std::move(m));
    }
    LLADA_CHECK(!out.empty(), "%s: \"messages\" has no assistant turn, so nothing to learn", origin.c_str());
    return out;
  }
  LLADA_CHECK(j.contains("prompt") || j.contains("response"),
              "%s: expected {\"prompt\", \"response\"} or {\"messages\": [...]}", origin.c_str());
  SftExample ex;
  if (j.contains("system")) ex.prompt.push_back({"system", json_string(j, "system", origin)});
  ex.prompt.push_back({"user", json_string(j, "prompt", origin)});
  ex.response = json_string(j, "response", origin);
  out.push_back(std::move(ex));
  return out;
}

std::vector<SftExample> read_sft_jsonl(const std::string& path) {
  std::vector<SftExample> out;
  for_each_jsonl(path, "", [&](const nlohmann::json& j, const std::string& where, int64_t) {
    for (auto& e : sft_examples_of(j, where)) out.push_back(std::move(e));
    return true;
  });
  return out;
}

TokenizedSample tokenize_sft(const Tokenizer& tok, const SftExample& ex) {
  SpecialIds sp = tok.special();
  LLADA_CHECK(sp.eos >= 0 && sp.eot >= 0, "SFT: the tokenizer needs an EOS (<|endoftext|>) and <|eot_id|>");
  TokenizedSample s;
  s.ids = encode_chat(tok, ex.prompt, /*add_generation_prompt=*/true, /*add_bos=*/true);
  s.prompt_len = int64_t(s.ids.size());
  std::vector<int32_t> resp = tok.encode(trim(ex.response), false);
  s.ids.insert(s.ids.end(), resp.begin(), resp.end());
  s.ids.push_back(sp.eot);
  s.ids.push_back(sp.eos);
  return s;
}

// ---------------------------------------------------------------- writer

SftWriter::SftWriter(std::string path, int64_t vocab_size, int32_t eos_id)
    : path_(std::move(path)), vocab_size_(vocab_size), eos_(eos_id),
      dtype_bytes_(token_bytes_for_vocab(vocab_size)) {
  LLADA_CHECK(vocab_size > 0 && vocab_size <= (int64_t(1) << 32), "%s: vocabulary size %lld out of range",
              path_.c_str(), (long long)vocab_size);
  LLADA_CHECK(eos_id >= 0 && eos_id < vocab_size, "%s: EOS id %d is not in the vocabulary (size %lld)",
              path_.c_str(), eos_id, (long long)vocab_size);
}

void SftWriter::add(std::span<const int32_t> ids, int64_t prompt_len) {
  LLADA_CHECK(!finished_, "%s: add after finish", path_.c_str());
  LLADA_CHECK(prompt_len >= 0 && prompt_len < int64_t(ids.size()) && ids.size() < (size_t(1) << 32),
              "%s: sample %lld has prompt length %lld and %zu tokens (needs at least one answer token)",
              path_.c_str(), (long long)n_samples(), (long long)prompt_len, ids.size());
  size_t at = body_.size();
  body_.resize(at + ids.size() * dtype_bytes_);
  uint8_t* p = body_.data() + at;
  for (int32_t id : ids) {
    LLADA_CHECK(id >= 0 && id < vocab_size_, "%s: token id %d out of range [0, %lld) in sample %lld",
                path_.c_str(), id, (long long)vocab_size_, (long long)n_samples());
    if (dtype_bytes_ == 2) put<uint16_t>(p, 0, uint16_t(id));
    else put<uint32_t>(p, 0, uint32_t(id));
    p += dtype_bytes_;
  }
  index_.push_back({uint64_t(n_tokens_), uint32_t(ids.size()), uint32_t(prompt_len)});
  n_tokens_ += int64_t(ids.size());
}

void SftWriter::finish() {
  LLADA_CHECK(!finished_, "%s: finish called twice", path_.c_str());
  finished_ = true;
  body_.resize(align8(body_.size()), 0);
  size_t at = body_.size();
  body_.resize(at + index_.size() * kEntryBytes);
  for (size_t i = 0; i < index_.size(); ++i) {
    uint8_t* e = body_.data() + at + i * kEntryBytes;
    put<uint64_t>(e, 0, index_[i].offset);
    put<uint32_t>(e, 8, index_[i].len);
    put<uint32_t>(e, 12, index_[i].prompt_len);
  }
  uint8_t h[kHeaderBytes] = {};
  put<uint64_t>(h, kOffSamples, uint64_t(index_.size()));
  put<uint64_t>(h, kOffTokens, uint64_t(n_tokens_));
  put<uint64_t>(h, kOffVocab, uint64_t(vocab_size_));
  put<int32_t>(h, kOffEos, eos_);
  frame::write(path_, kSftFormat, h, uint32_t(dtype_bytes_), body_);
  std::vector<uint8_t>().swap(body_);
}

// ---------------------------------------------------------------- reader

std::shared_ptr<SftDataset> SftDataset::open(const std::string& path, bool verify) {
  std::shared_ptr<SftDataset> s(new SftDataset());
  s->file_ = MappedFile::open(path);
  const uint8_t* d = s->file_->data();
  size_t size = s->file_->size();
  const char* p = path.c_str();
  s->dtype_bytes_ = frame::check_header(d, size, kSftFormat, p);
  uint64_t ns = get<uint64_t>(d, kOffSamples), nt = get<uint64_t>(d, kOffTokens);
  uint64_t vocab = get<uint64_t>(d, kOffVocab);
  s->eos_ = get<int32_t>(d, kOffEos);
  LLADA_CHECK(s->dtype_bytes_ == token_bytes_for_vocab(int64_t(vocab)) && vocab > 0 &&
                  vocab <= (uint64_t(1) << 32) && s->eos_ >= 0 && uint64_t(s->eos_) < vocab,
              "%s: inconsistent header (token width %u, vocabulary %llu, EOS %d)", p, s->dtype_bytes_,
              (unsigned long long)vocab, s->eos_);
  LLADA_CHECK(nt < (uint64_t(1) << 48) && ns <= nt, "%s: implausible counts: %llu samples, %llu tokens", p,
              (unsigned long long)ns, (unsigned long long)nt);
  size_t tok_bytes = align8(size_t(nt) * s->dtype_bytes_);
  size_t expect = kHeaderBytes + tok_bytes + size_t(ns) * kEntryBytes;
  LLADA_CHECK(size == expect,
              "%s: SFT file is %zu bytes but its header (%llu samples, %llu tokens) needs %zu: truncated "
              "or corrupted", p, size, (unsigned long long)ns, (unsigned long long)nt, expect);
  if (verify) frame::check_body(d, size, kSftFormat, p);
  s->n_samples_ = int64_t(ns);
  s->n_tokens_ = int64_t(nt);
  s->vocab_size_ = int64_t(vocab);
  s->tokens_ = d + kHeaderBytes;
  s->index_ = d + kHeaderBytes + tok_bytes;
  // The index is checked entry by entry so length()/copy() can trust it: samples are back to back.
  uint64_t next = 0;
  for (uint64_t i = 0; i < ns; ++i) {
    const uint8_t* e = s->index_ + i * kEntryBytes;
    uint64_t off = get<uint64_t>(e, 0);
    uint32_t len = get<uint32_t>(e, 8), pl = get<uint32_t>(e, 12);
    LLADA_CHECK(off == next && len > 0 && pl < len && off + len <= nt,
                "%s: index entry %llu is invalid (offset %llu, length %u, prompt %u, %llu tokens)", p,
                (unsigned long long)i, (unsigned long long)off, len, pl, (unsigned long long)nt);
    next = off + len;
    s->max_len_ = std::max<int64_t>(s->max_len_, len);
  }
  LLADA_CHECK(next == nt, "%s: index covers %llu of %llu tokens", p, (unsigned long long)next,
              (unsigned long long)nt);
  return s;
}

const uint8_t* SftDataset::entry(int64_t i) const {
  LLADA_CHECK(i >= 0 && i < n_samples_, "%s: sample %lld out of range [0, %lld)", path().c_str(), (long long)i,
              (long long)n_samples_);
  return index_ + size_t(i) * kEntryBytes;
}

int64_t SftDataset::length(int64_t i) const { return get<uint32_t>(entry(i), 8); }
int64_t SftDataset::prompt_length(int64_t i) const { return get<uint32_t>(entry(i), 12); }

void SftDataset::copy(int64_t i, int32_t* out) const {
  const uint8_t* e = entry(i);
  uint64_t off = get<uint64_t>(e, 0);
  uint32_t len = get<uint32_t>(e, 8);
  if (dtype_bytes_ == 2) {
    for (uint32_t k = 0; k < len; ++k) out[k] = get<uint16_t>(tokens_, size_t(off + k) * 2);
  } else {
    std::memcpy(out, tokens_ + off * 4, size_t(len) * 4);
  }
}

TokenizedSample SftDataset::sample(int64_t i) const {
  TokenizedSample s;
  s.ids.resize(size_t(length(i)));
  copy(i, s.ids.data());
  s.prompt_len = prompt_length(i);
  return s;
}

// ---------------------------------------------------------------- loader


SftLoader::SftLoader(std::shared_ptr<SftDataset> data, uint64_t seed, bool shuffle)
    : data_(std::move(data)), seed_(seed), shuffle_(shuffle) {
  LLADA_CHECK(data_ && data_->size() > 0, "SFT loader: the sample file %s is empty",
              data_ ? data_->path().c_str() : "(null)");
  LLADA_CHECK(data_->size() < (int64_t(1) << 32), "SFT loader: too many samples in %s", data_->path().c_str());
  state_.fingerprint = mix64(uint64_t(data_->size())) ^ mix64(uint64_t(data_->n_tokens()) + 3) ^
                       mix64(seed_ + 11) ^ (shuffle_ ? 1 : 0);
  state_.rng = Rng(seed_).state();
  start_epoch();
}

void SftLoader::start_epoch() {
  perm_.resize(size_t(data_->size()));
  for (size_t i = 0; i < perm_.size(); ++i) perm_[i] = uint32_t(i);
  if (!shuffle_) return;
  Rng r(mix64(seed_ ^ 0x5f7ull) ^ mix64(state_.epoch + 1));
  for (size_t i = perm_.size(); i > 1; --i) std::swap(perm_[i - 1], perm_[r.below(i)]);
}

const std::vector<SftSample>& SftLoader::next_batch(int64_t B) {
  LLADA_CHECK(B > 0, "SFT loader: batch size %lld must be positive", (long long)B);
  // Capacity for the worst case, so steady state never reallocates.
  if (buf_.capacity() < size_t(B * data_->max_length())) buf_.reserve(size_t(B * data_->max_length()));
  buf_.clear();
  batch_.clear();
  batch_max_ = 0;
  std::vector<int64_t>& starts = starts_;
  starts.clear();
  for (int64_t b = 0; b < B; ++b) {
    int64_t i = perm_[state_.cursor];
    int64_t len = data_->length(i);
    size_t at = buf_.size();
    buf_.resize(at + size_t(len));
    data_->copy(i, buf_.data() + at);
    starts.push_back(int64_t(at));
    batch_.push_back({nullptr, len, data_->prompt_length(i)});
    batch_max_ = std::max(batch_max_, len);
    ++state_.served;
    if (++state_.cursor == uint64_t(data_->size())) {
      state_.cursor = 0;
      ++state_.epoch;
      start_epoch();
    }
  }
  for (int64_t b = 0; b < B; ++b) batch_[size_t(b)].ids = buf_.data() + starts[size_t(b)];
  return batch_;
}

void SftLoader::set_state(const SftLoaderState& s) {
  LLADA_CHECK(s.fingerprint == state_.fingerprint,
              "SFT loader state was saved for different data or settings (%s, seed %llu, shuffle %d)",
              data_->path().c_str(), (unsigned long long)seed_, int(shuffle_));
  LLADA_CHECK(s.cursor < uint64_t(data_->size()), "SFT loader state: cursor %llu out of range (%lld samples)",
              (unsigned long long)s.cursor, (long long)data_->size());
  state_ = s;
  start_epoch();
}

}  // namespace llada::train
