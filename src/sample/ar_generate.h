// Left-to-right decoding for autoregressive (causal) models: the baseline the paper compares LLaDA
// with. One new token per model call over a KV cache; the token rule is the diffusion sampler's
// (rules.h predict_row): argmax at temperature 0, the float64 Gumbel-max draw above it, the EOS
// switch. A row stops at EOS or EoT; what follows is EOS (as the diffusion sampler's outputs are).
#pragma once
#include <cstdint>
#include <vector>

#include "model/model.h"
#include "sample/generate.h"

namespace llada::sample {

// The options that mean something to a causal model: gen_length (the most new tokens), temperature,
// seed, logits_eos_inf. Callers reject the diffusion-only ones (steps, blocks, remasking, ...).
void validate_autoregressive(const std::vector<std::vector<int32_t>>& prompts, const SpecialIds& sp,
                             const GenerateOptions& o);

// Batches are left-padded (padding keys masked). RoPE is relative, so a row's logits do not depend
// on its padding. tokens[b] holds gen_length ids (EOS after the row stopped). `observe` sees the
// canvas after every new token (positions not generated yet hold the mask id, those after a row's
// stop EOS), so streaming reads it as it reads a diffusion canvas; returning false stops the run.
GenerateResult generate_autoregressive(const Model& m, const std::vector<std::vector<int32_t>>& prompts,
                                       const SpecialIds& sp, const GenerateOptions& o,
                                       const StepObserver& observe = {});

}  // namespace llada::sample
