// Token shards: the binary format `llada prepare` writes for pre-training and the readers that serve
// training windows from it (docs/data.md has the byte layout).
//
//   header (64 bytes, little-endian)  magic "LLADATOK", version, dtype bytes (2 = uint16 when the
//                                     vocabulary is < 65536, else 4 = uint32), token count, document
//                                     count, vocabulary size, EOS id, a 64-bit checksum of the body
//   tokens                            every document followed by one EOS, padded to 8 bytes
//   document index                    uint64 start offsets, n_docs + 1 of them (the last = token count)
//
// Shards are written atomically (temporary file + rename) and read memory-mapped; every size, offset
// and (unless skipped) the checksum and every token id are checked before a byte is trusted, so a
// truncated or corrupted shard is an llada::Error naming the file.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/file_io.h"
#include "core/rng.h"

namespace llada::train {

inline constexpr char kShardMagic[8] = {'L', 'L', 'A', 'D', 'A', 'T', 'O', 'K'};
inline constexpr uint32_t kShardVersion = 1;

// Bytes per stored token for a vocabulary: 2 below 65536 ids, else 4.
inline uint32_t token_bytes_for_vocab(int64_t vocab_size) { return vocab_size <= 65536 ? 2u : 4u; }

// 64-bit checksum of a byte range (word-at-a-time multiply-rotate; detects any flipped byte).
uint64_t checksum64(const uint8_t* data, size_t n, uint64_t seed = 0);
// The 64-bit finaliser behind checksum64, also used to derive fingerprints and seeds.
uint64_t mix64(uint64_t h);

// Accumulates documents in memory, then writes the shard atomically.
class ShardWriter {
 public:
  ShardWriter(std::string path, int64_t vocab_size, int32_t eos_id);
  // Appends the document's tokens and one EOS. Ids must be in [0, vocab_size).
  void add_document(std::span<const int32_t> tokens);
  int64_t n_tokens() const { return n_tokens_; }
  int64_t n_docs() const { return int64_t(offsets_.size()) - 1; }
  // Writes the file (atomic). The writer can't be used afterwards.
  void finish();

 private:
  std::string path_;
  int64_t vocab_size_;
  int32_t eos_;
  uint32_t dtype_bytes_;
  std::vector<uint8_t> body_;  // tokens in their stored width
  std::vector<uint64_t> offsets_{0};
  int64_t n_tokens_ = 0;
  bool finished_ = false;
};

// A read-only, memory-mapped shard.
class TokenShard {
 public:
  // verify: also check the checksum and that every token id is < vocab_size (one pass over the data).
  static std::shared_ptr<TokenShard> open(const std::string& path, bool verify = true);

  const std::string& path() const { return file_->path(); }
  int64_t n_tokens() const { return n_tokens_; }
  int64_t n_docs() const { return n_docs_; }
  int64_t vocab_size() const { return vocab_size_; }
  int32_t eos_id() const { return eos_; }
  uint32_t dtype_bytes() const { return dtype_bytes_; }

  int32_t token(int64_t i) const;
  // Copies tokens [begin, begin + count) as int32 into out (checks the range).
  void copy(int64_t begin, int64_t count, int32_t* out) const;
  // Document d spans tokens [doc_begin(d), doc_end(d)), its EOS included.
  int64_t doc_begin(int64_t d) const;
  int64_t doc_end(int64_t d) const;
  std::vector<int32_t> document(int64_t d) const;

 private:
  TokenShard() = default;
  std::shared_ptr<MappedFile> file_;
  const uint8_t* tokens_ = nullptr;
  const uint64_t* offsets_ = nullptr;
  int64_t n_tokens_ = 0, n_docs_ = 0, vocab_size_ = 0;
  int32_t eos_ = -1;
  uint32_t dtype_bytes_ = 2;
};

// Document-level held-out split by a hash of the document's text, so the split does not depend on
// file order: true for about `fraction` of documents.
bool is_heldout_document(std::string_view text, double fraction);

// How windows are drawn.
//   Random      every window starts at a uniformly random offset (windows may overlap);
//   Sequential  consecutive non-overlapping windows in file order, wrapping at the end (held-out);
//   Shuffled    the non-overlapping windows in a fresh seeded random order each epoch.
// Windows never straddle two shards; the tail of a shard shorter than L is not served.
enum class WindowMode { Random, Sequential, Shuffled };
WindowMode window_mode_from_name(const std::string& s);  // "random" | "sequential" | "shuffled"
const char* window_mode_name(WindowMode m);

// Everything needed to continue bit-identically after a restart. `fingerprint` ties the state to the
// data and settings (shard sizes, L, mode); restoring it into a different reader is an error.
struct WindowState {
  std::array<uint64_t, 4> rng{};
  uint64_t epoch = 0;
  uint64_t cursor = 0;  // next position in the epoch's window order (Sequential / Shuffled)
  uint64_t served = 0;  // windows served so far
  uint64_t fingerprint = 0;
  std::string to_json() const;
  static WindowState from_json(const std::string& text);  // errors name the missing field
};

// Serves [B, L] windows of tokens from one or more shards (treated as one stream).
class WindowReader {
 public:
  WindowReader(std::vector<std::shared_ptr<TokenShard>> shards, int64_t seq_len, WindowMode mode,
               uint64_t seed);
  // Fills out[0 .. B*L) with B windows; no allocation.
  void next_batch(int64_t B, int32_t* out);
  void next_window(int32_t* out);

  int64_t seq_len() const { return L_; }
  int64_t windows_per_epoch() const { return n_windows_; }  // non-overlapping windows
  int64_t total_tokens() const { return total_tokens_; }
  uint64_t epoch() const { return state_.epoch; }
  const WindowState& state() const { return state_; }
  void set_state(const WindowState& s);

 private:
  // Maps a window number (0 .. n_windows) to (shard, start) for the non-overlapping modes.
  void locate_window(uint64_t w, size_t& shard, int64_t& start) const;
  void start_epoch();  // Shuffled: rebuilds perm_ from (seed, epoch), reusing its capacity

  std::vector<std::shared_ptr<TokenShard>> shards_;
  std::vector<int64_t> window_prefix_;  // cumulative non-overlapping windows per shard
  std::vector<int64_t> start_prefix_;   // cumulative valid random start positions per shard
  int64_t L_, n_windows_ = 0, n_starts_ = 0, total_tokens_ = 0;
  WindowMode mode_;
  uint64_t seed_;
  Rng rng_;
  WindowState state_;
  std::vector<uint32_t> perm_;
};

}  // namespace llada::train
