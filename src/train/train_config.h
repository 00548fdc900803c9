// The training configuration (`llada train --config FILE`): one JSON file, every field optional
// except what the chosen objective needs; command-line flags override fields. Parsing checks types
// and ranges and names the file and field at fault. The resolved configuration is stored in every
// checkpoint's trainer_state.json so a resumed run can be checked against it.
//
// {
//   "model": {"init_from": DIR} | {"config": {...config.json keys...}, "init_std": 0.02},
//   "tokenizer": "path/tokenizer.json",            (fills vocab/special ids of a new model; copied
//                                                   into every checkpoint)
//   "objective": "diffusion" | "sft" | "ar",
//   "data": {"train": [shard files or dirs], "heldout": [...], "window": "random"}     (diffusion, ar)
//           {"train": "sft.bin", "heldout": "sft-heldout.bin"}                         (sft)
//   "seq_len": 128, "batch_size": 16, "grad_accum": 1, "steps": 1000,
//   "diffusion": {"eps": 1e-3, "random_length_prob": 0.01, "stratified_t": false, "weighting": "elbo"},
//   "sft": {"prompt_mask_prob": 0.0, "pad": "fixed" | "batch"},
//   "optim": {"betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1, "grad_clip": 1.0,
//             "decay_embeddings": true},
//   "schedule": {"kind": "cosine", "lr": 2e-4, "warmup_steps": -1, "min_lr": -1, ...},
//   "precision": "f32" | "bf16",                   (bf16: mixed precision, see below)
//   "seed": 0, "threads": 0,
//   "out": "runs/x", "checkpoint_every": 500, "keep_checkpoints": 2, "save_dtype": "bf16",
//   "eval_every": 200, "eval_batches": 8, "log_every": 10
// }
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/config.h"
#include "train/adamw.h"
#include "train/objective.h"
#include "train/schedule.h"

namespace llada::train {

struct TrainConfig {
  // model
  std::string init_from;             // a model directory to start from (fine-tuning)
  nlohmann::json model_json;         // config.json keys of a new model (when init_from is empty)
  double init_std = 0.02;
  std::string tokenizer;             // tokenizer.json (or its directory)
  // data + objective
  Objective objective = Objective::Diffusion;
  std::vector<std::string> train_data, heldout_data;
  std::string window = "random";     // pre-training window order (shards.h WindowMode)
  int64_t seq_len = 128, batch_size = 16, grad_accum = 1, steps = 1000;
  double eps = 1e-3, random_length_prob = 0.01;
  bool stratified_t = false;
  std::string mask_weighting = "elbo";  // objective.h MaskWeighting (the held-out loss is always elbo)
  double prompt_mask_prob = 0.0;
  // SFT padding: "fixed" pads every sample with EOS to seq_len (LLaDA's recipe, spec section 3);
  // "batch" pads to the batch's longest sample (fewer EOS targets, much less compute on short sets).
  std::string sft_pad = "fixed";
  // SFT samples mixed into pre-training ("sft_mix", docs/training.md): when sft_mix_every > 0,
  // every sft_mix_every-th optimizer step takes its micro-batches of sft_mix_batch samples (0:
  // batch_size) from sft_mix_data under the SFT rule (the prompt never masked, padded to the
  // batch's longest sample; a causal model's loss on the response) instead of pre-training windows.
  // The held-out loss stays the pre-training objective's.
  std::vector<std::string> sft_mix_data;
  int64_t sft_mix_every = 0, sft_mix_batch = 0;
  bool sft_mix_step(int64_t step) const { return sft_mix_every > 0 && (step + 1) % sft_mix_every == 0; }
  // optimisation
  AdamWConfig adamw;
  double grad_clip = 1.0;
  Schedule schedule;
  // "bf16": every matrix product (linear layers, head, attention's products), forward and
  // backward, takes bf16-rounded inputs with f32 accumulation (AMX tiles where the CPU has them);
  // master weights, gradient accumulation, AdamW moments, norms, softmax and losses stay f32, and
  // checkpoints are f32 as always. The held-out evaluation runs in f32 in both modes.
  std::string precision = "f32";
  uint64_t seed = 0;
  int threads = 0;
  // output
  std::string out;
  int64_t checkpoint_every = 500, keep_checkpoints = 2;
  std::string save_dtype = "bf16";   // the final model; checkpoints are always F32 (exact resume)
  int64_t eval_every = 200, eval_batches = 8, log_every = 10;
  bool progress = true;

  // Parses a configuration; `source` (the path) names errors. Unknown top-level keys are errors
  // (a misspelt field must not silently fall back to a default).
  static TrainConfig from_json(const nlohmann::json& j, const std::string& source);
  static TrainConfig load(const std::string& path);
  nlohmann::json to_json() const;
  void validate() const;  // throws naming the field
};

}  // namespace llada::train
