// Generation by reverse diffusion (spec section 4) with the fast-decoding options of section 5.
// The sampler owns the canvas and the decisions; the logits come from a LogitsSource (the model,
// possibly cached, or a test fake).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "sample/logits_source.h"
#include "sample/options.h"

namespace llada::sample {

// Ids the sampler needs; they come from the model's config.json / tokenizer files.
struct SpecialIds {
  int32_t mask = -1;
  int32_t eos = -1;
  int32_t eot = -1;      // -1: the model has no end-of-turn token
  int32_t pad = -1;      // left padding in batches; -1: use eos
  int64_t vocab = 0;     // valid ids are [0, vocab)
  int64_t max_len = 0;   // longest canvas (prompt + gen_length) the model accepts; 0 = no limit
};

struct GenerateStats {
  int64_t nfe = 0;               // model calls (one cfg call over 2B rows counts once)
  int64_t rows = 0;              // rows of logits computed
  int64_t committed = 0;         // positions unmasked by decisions (not the early-exit EOS fill)
  int64_t generated = 0;         // non-EOS tokens in the outputs
  double seconds = 0.0;          // wall time of generate()
  double model_seconds = 0.0;    // inside the logits source
  double tokens_per_call() const { return nfe ? double(committed) / double(nfe) : 0.0; }
  double ms_per_call() const { return nfe ? 1e3 * model_seconds / double(nfe) : 0.0; }
  double tokens_per_second() const { return seconds > 0 ? double(generated) / seconds : 0.0; }
};

// What --show draws after every step.
struct StepView {
  int64_t B = 0, T = 0, prompt_len = 0;  // canvas [B, T] (the conditional rows only)
  const int32_t* ids = nullptr;
  int64_t block = 0, step = 0, nfe = 0;
};
// Called after every step (drawing the canvas, streaming to a client); returns whether to go on.
// Returning false stops the run after that step (a server whose client went away).
using StepObserver = std::function<bool(const StepView&)>;

struct GenerateResult {
  std::vector<std::vector<int32_t>> tokens;  // per prompt: the gen_length generated ids
  GenerateStats stats;
  bool stopped = false;  // the observer stopped the run: positions may still hold the mask id
};

// The checks every decoder makes of its prompts: at least one; every id in [0, vocab); the mask id
// only where `mask_allowed` (--infill); prompt + gen_length within the model's max_len.
void check_prompts(const std::vector<std::vector<int32_t>>& prompts, const SpecialIds& sp,
                   int64_t gen_length, bool mask_allowed);

// Checks the options and prompts (errors name the CLI flag at fault) without generating.
void validate(const std::vector<std::vector<int32_t>>& prompts, const SpecialIds& sp,
              const GenerateOptions& o);

// Generates for a batch of prompts (left-padded to the longest, padding keys masked).
GenerateResult generate(LogitsSource& src, const std::vector<std::vector<int32_t>>& prompts,
                        const SpecialIds& sp, const GenerateOptions& o, const StepObserver& show = {});

}  // namespace llada::sample
