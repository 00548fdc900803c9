// Where training batches come from: token shards (pre-training, the AR baseline) or SFT samples,
// behind one interface whose state goes into checkpoints so a resumed run reads exactly the data
// the uninterrupted run would have read.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/objective.h"
#include "train/train_config.h"

namespace llada::train {

class DataSource {
 public:
  virtual ~DataSource() = default;
  // B windows of L tokens into out[B*L] (pre-training sources).
  virtual void next_tokens(int64_t B, int64_t L, int32_t* out);
  // B SFT samples (SFT sources); pointers stay valid until the next call.
  virtual void next_sft(int64_t B, SftSample* out);
  // SFT: the longest sample of the last batch (for padding to the batch maximum); 0 otherwise.
  virtual int64_t last_batch_max() const { return 0; }
  virtual nlohmann::json state() const = 0;
  virtual void set_state(const nlohmann::json& s) = 0;
  // Every token id must be < vocab_size of the model (errors name the file).
  virtual void check_vocab(int64_t vocab_size) const = 0;
};

// Files in `paths` (a directory stands for its *.tok and *.bin shard files, sorted). Pre-training objectives read
// token shards (shards.h: windows in cfg.window order; held-out: sequential from the start); sft
// reads SFT sample files. Missing or corrupted files are errors naming the file.
std::unique_ptr<DataSource> open_data_source(const TrainConfig& cfg, const std::vector<std::string>& paths,
                                             bool heldout, uint64_t seed);

// The SFT sample file of cfg.sft_mix_data (one file; samples up to cfg.seq_len tokens), read in
// a shuffled order from `seed` like the sft objective's.
std::unique_ptr<DataSource> open_sft_mix_source(const TrainConfig& cfg, uint64_t seed);

// Expands directories into their *.tok/*.bin files; errors name a missing path or an empty directory.
std::vector<std::string> expand_data_paths(const std::vector<std::string>& paths);

// Training data must never overlap the held-out data. Refused, naming both files: the same file on
// both sides, two files with the same content, and a training directory that holds the held-out
// split `llada prepare --heldout-fraction` writes (heldout.tok / heldout.sft). Returns the
// fingerprints of both sides for the run's record: {"train": [...], "heldout": [...]}, each file's
// path, size and a checksum of its 64-byte header (which holds the checksum of the whole body).
nlohmann::json check_disjoint_data(const std::vector<std::string>& train_paths,
                                   const std::vector<std::string>& heldout_paths);

}  // namespace llada::train
