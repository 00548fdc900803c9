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

// Command-line flags that configure only the diffusion sampler.
const std::vector<std::string>& diffusion_only_flags();

// `given`: the flags the user set. Throws naming the first one the model's family cannot use.
void check_family_flags(const Session& s, const std::vector<std::string>& given);

class Decoder {
 public:
  Decoder(const Session& s, CacheMode cache) : s_(s), src_(s.model, cache) {}
  bool autoregressive() const { return s_.model.cfg.causal; }
  // Checks options and prompts (errors name the flag) without decoding.
  void validate(const std::vector<std::vector<int32_t>>& prompts, const GenerateOptions& o) const;
  // `show` draws the diffusion canvas; a causal model has none to draw.
  GenerateResult run(const std::vector<std::vector<int32_t>>& prompts, const GenerateOptions& o,
                     const StepObserver& show = {});

 private:
  const Session& s_;
  ModelLogits src_;
};

}  // namespace llada::sample
