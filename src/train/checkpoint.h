// Training checkpoints. A run directory holds
//   step-N/            config.json + model.safetensors (F32, so a resume is bit-exact; loadable by
//                      everything else as a Hugging Face LLaDA directory), tokenizer files when the
//                      run has a tokenizer, optimizer.safetensors (exp_avg.<name>, exp_avg_sq.<name>),
//                      trainer_state.json (step, RNG states, data-loader state, configuration)
//   latest             one line: the name of the newest complete step-N directory
// A checkpoint is written into step-N.tmp.<pid> and renamed into place, then `latest` is replaced
// atomically: a crash at any moment leaves the previous checkpoint intact and `latest` pointing at
// a complete directory.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "train/adamw.h"

namespace llada {
class Tokenizer;
}

namespace llada::train {

struct TrainerState {
  int64_t step = 0;                      // optimizer steps completed
  std::array<uint64_t, 4> noise_rng{};   // the masking RNG
  nlohmann::json data_state;             // the data reader's state (shards.h WindowState or SFT)
  nlohmann::json sft_mix_state;          // the sft_mix reader's state (null without sft_mix)
  int64_t tokens_seen = 0;
  double elapsed_s = 0;                  // training wall time over all sessions
  nlohmann::json config;                 // TrainConfig::to_json() of the run
  nlohmann::json to_json() const;
  static TrainerState from_json(const nlohmann::json& j, const std::string& source);
};

// Writes DIR/step-N atomically, points DIR/latest at it, and deletes all but the newest `keep`
// step-* directories (keep <= 0: keep all). Returns the checkpoint directory.
std::string save_checkpoint(const std::string& run_dir, const Model& model, const AdamW& opt,
                            const TrainerState& state, const Tokenizer* tok, int64_t keep);

// The directory `latest` names, or "" when the run has no checkpoint yet.
std::string latest_checkpoint(const std::string& run_dir);

// Loads a checkpoint directory: the model (F32 master weights), the optimizer moments (into an
// AdamW already constructed for this model) and the state. Errors name the file and tensor.
void load_checkpoint(const std::string& ckpt_dir, Model* model, AdamW* opt, TrainerState* state);

// Optimizer moments alone (exposed for tests).
void save_optimizer(const std::string& path, const AdamW& opt);
void load_optimizer(const std::string& path, AdamW* opt);

}  // namespace llada::train
