// SFT data: JSON lines of {"prompt", "response"} or {"messages": [{"role", "content"}, ...]} turned
// into tokenized samples (spec section 3), a binary sample file with an index, and a loader that
// serves shuffled batches with a saveable state.
//
// A sample is the chat-formatted prompt (BOS, the turns so far, the assistant header) followed by the
// response, <|eot_id|> and one EOS: ids = prompt ++ response ++ [eot, eos], prompt_len = |prompt|.
// The objective pads with more EOS (fixed length or the batch's longest sample); those are targets.
// A dialogue with several assistant turns gives one sample per assistant turn, the earlier turns
// (answers included) being prompt.
//
// Sample file (docs/data.md): a 64-byte header (magic "LLADASFT", version, token width, sample count,
// token count, vocabulary size, EOS id, checksums), the tokens, then per sample {offset u64, length
// u32, prompt_len u32}. Read memory-mapped, every size and index entry checked.
#pragma once
#include <nlohmann/json.hpp>
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/file_io.h"
#include "core/rng.h"
#include "tokenizer/tokenizer.h"
#include "train/objective.h"
#include "train/shards.h"

namespace llada::train {

// One training example before tokenization: the conversation up to the answer, and the answer.
struct SftExample {
  std::vector<ChatMessage> prompt;  // ends with a user (or system) turn
  std::string response;             // the assistant's answer
};

// Parses one JSON line into examples (one per assistant turn). `origin` (e.g. "file.jsonl:12") starts
// every error message. Accepted: {"prompt": str, "response": str [, "system": str]} or
// {"messages": [{"role": "system"|"user"|"assistant", "content": str}, ...]}; other fields are ignored.
std::vector<SftExample> parse_sft_line(std::string_view line, const std::string& origin);
// The same from a parsed JSON object.
std::vector<SftExample> sft_examples_of(const nlohmann::json& j, const std::string& origin);
// Every example of a JSONL file (blank lines skipped); errors name the file and line.
std::vector<SftExample> read_sft_jsonl(const std::string& path);

struct TokenizedSample {
  std::vector<int32_t> ids;
  int64_t prompt_len = 0;
};
// Chat-formatted prompt (with BOS and the assistant header), then response ids, <|eot_id|>, EOS.
TokenizedSample tokenize_sft(const Tokenizer& tok, const SftExample& ex);

inline constexpr char kSftMagic[8] = {'L', 'L', 'A', 'D', 'A', 'S', 'F', 'T'};
inline constexpr uint32_t kSftVersion = 1;

class SftWriter {
 public:
  SftWriter(std::string path, int64_t vocab_size, int32_t eos_id);
  // ids must be in [0, vocab) with 0 <= prompt_len < |ids| (at least one answer token).
  void add(std::span<const int32_t> ids, int64_t prompt_len);
  int64_t n_samples() const { return int64_t(index_.size()); }
  int64_t n_tokens() const { return n_tokens_; }
  void finish();  // atomic write

 private:
  std::string path_;
  int64_t vocab_size_;
  int32_t eos_;
  uint32_t dtype_bytes_;
  std::vector<uint8_t> body_;
  struct Entry {
    uint64_t offset;
    uint32_t len, prompt_len;
  };
  std::vector<Entry> index_;
  int64_t n_tokens_ = 0;
  bool finished_ = false;
};

class SftDataset {
 public:
  static std::shared_ptr<SftDataset> open(const std::string& path, bool verify = true);
  const std::string& path() const { return file_->path(); }
  int64_t size() const { return n_samples_; }
  int64_t n_tokens() const { return n_tokens_; }
  int64_t vocab_size() const { return vocab_size_; }
  int32_t eos_id() const { return eos_; }
  int64_t length(int64_t i) const;
  int64_t prompt_length(int64_t i) const;
  int64_t max_length() const { return max_len_; }
  // Copies sample i's ids (int32) into out, which must hold length(i) values.
  void copy(int64_t i, int32_t* out) const;
  TokenizedSample sample(int64_t i) const;

 private:
  SftDataset() = default;
  const uint8_t* entry(int64_t i) const;
  std::shared_ptr<MappedFile> file_;
  const uint8_t* tokens_ = nullptr;
  const uint8_t* index_ = nullptr;
  int64_t n_samples_ = 0, n_tokens_ = 0, vocab_size_ = 0, max_len_ = 0;
  int32_t eos_ = -1;
  uint32_t dtype_bytes_ = 2;
};

// The same resumable position as the token windows' (rng is unused by the SFT order itself).
using SftLoaderState = WindowState;

// Serves batches of samples in a seeded random order (a fresh permutation each epoch, rebuilt from
// (seed, epoch) so a restored state continues bit-identically), or in file order with shuffle=false.
// The returned SftSample pointers stay valid until the next call.
class SftLoader {
 public:
  SftLoader(std::shared_ptr<SftDataset> data, uint64_t seed, bool shuffle = true);
  const std::vector<SftSample>& next_batch(int64_t B);
  // The longest sample of the last batch: the length to pad to when padding to the batch maximum.
  int64_t batch_max_length() const { return batch_max_; }
  const SftLoaderState& state() const { return state_; }
  void set_state(const SftLoaderState& s);
  uint64_t epoch() const { return state_.epoch; }

 private:
  void start_epoch();
  std::shared_ptr<SftDataset> data_;
  uint64_t seed_;
  bool shuffle_;
  SftLoaderState state_;
  std::vector<uint32_t> perm_;
  std::vector<int32_t> buf_;  // the batch's ids, back to back
  std::vector<int64_t> starts_;
  std::vector<SftSample> batch_;
  int64_t batch_max_ = 0;
};

}  // namespace llada::train
