// The one entry point the front ends (generate, chat, eval) decode through: reverse diffusion for a
// LLaDA model, left-to-right decoding for a causal (autoregressive) one. Options that only one
// family understands are an error on the other, never a silent no-op.
#pragma once
#include <string>
#include <vector>

#include "sample/ar_generate.h"
#include "sample/generate.h"
#include "sample/model_source.h"
#include "sample/session.h"

namespace llada::sample {

// Option fields that configure only the diffusion sampler: the option table's Diffusion rows,
// the cache, and `show` (the front ends' canvas).
std::vector<std::string> diffusion_only_fields();

// `given`: the option fields the user set. Throws an OptionError naming the first one the model's
// family cannot use (a diffusion option for a causal model, or the reverse).
void check_family_options(const Session& s, const std::vector<std::string>& given);

class Decoder {
 public:
  Decoder(const Session& s, CacheMode cache) : s_(s), src_(s.model, cache) {}
  bool autoregressive() const { return s_.model.cfg.causal; }
  // Checks options and prompts (errors name the flag) without decoding.
  void validate(const std::vector<std::vector<int32_t>>& prompts, const GenerateOptions& o) const;
  // `show` sees the canvas after every step (a causal model's: after every new token).
  GenerateResult run(const std::vector<std::vector<int32_t>>& prompts, const GenerateOptions& o,
                     const StepObserver& show = {});

 private:
  const Session& s_;
  ModelLogits src_;
};

}  // namespace llada::sample
