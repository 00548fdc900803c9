// The training loop: objective -> model_forward_backward -> clip -> AdamW, with held-out evaluation
// under fixed noise, a JSON-lines metrics log, a progress bar and atomic checkpoints that a resumed
// run continues bit-identically (same thread count: the kernels' reductions are static).
//
// Run directory (cfg.out):
//   metrics.jsonl       {"step","loss","lr","grad_norm","tokens","tok_per_s","elapsed_s","world_size"}
//                       per log interval (and, when world_size > 1, "comm_s": the interval's seconds
//                       exchanging gradients, "wait_s": its seconds waiting for the slowest rank) and {"step","eval_loss"} per evaluation
//   step-N/, latest     checkpoints (checkpoint.h)
//   final/              the trained model (cfg.save_dtype) with its tokenizer
//   config.json         the resolved training configuration, with the data files' fingerprints
//   .lock               held by the running trainer (run_dir.h: one process per directory, no
//                       silent overwrite of an earlier run)
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "model/weights.h"
#include "train/collective.h"
#include "train/train_config.h"

namespace llada::train {

struct TrainResult {
  int64_t steps_done = 0;      // optimizer steps completed in total (after resume)
  double last_loss = 0;        // mean training loss over the last log interval
  double last_eval_loss = -1;  // -1: never evaluated
  double first_eval_loss = -1; // before the first step (RunOptions::eval_at_start)
  double tokens_per_s = 0;     // this session
  double seconds = 0;          // this session's wall time
  std::string final_dir;       // "" when stopped early
  bool interrupted = false;    // stopped by SIGINT/SIGTERM after writing a checkpoint
  bool nothing_to_do = false;  // --resume of a run that had already reached cfg.steps
};

struct RunOptions {
  bool resume = false;         // continue from cfg.out/latest (error if there is none)
  bool force = false;          // replace an earlier run in cfg.out (otherwise that is an error)
  // Stop after this many optimizer steps in this session, writing nothing more (simulates a kill
  // for the resume test). -1: run to cfg.steps.
  int64_t stop_after = -1;
  bool eval_at_start = false;  // also evaluate the held-out loss before the first step
  // Called after every optimizer step (step index completed, loss); may be empty.
  std::function<void(int64_t, double)> on_step;
  // Called with every micro-batch before the model sees it (step index being taken, the batch), and
  // with every learning rate applied; may be empty. The replay test feeds them to the PyTorch
  // reference to follow the same trajectory.
  std::function<void(int64_t, const TrainBatch&)> on_batch;
  std::function<void(int64_t, double)> on_lr;
  // Data parallelism: the ranks of the run (collective.h); null = this process alone. Every rank
  // draws every micro-batch of the global batch (batch_size x grad_accum: the data and noise
  // streams are defined per global sample, so a run resumes on any number of ranks) and computes
  // the gradient of its own contiguous grad_accum / size() of them; rank 0 alone writes the run
  // directory, the metrics and the progress.
  Collective* collective = nullptr;
};

TrainResult run_training(const TrainConfig& cfg, const RunOptions& opt = {});

}  // namespace llada::train
