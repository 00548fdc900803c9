// The generation flags of `llada generate`, shared by every command that decodes (generate, eval):
// one registration, one resolution into GenerateOptions, so the commands cannot drift apart.
#pragma once
#include <CLI/CLI.hpp>
#include <climits>
#include <cstdint>
#include <string>

#include "sample/model_source.h"
#include "sample/options.h"

namespace llada::cli {

struct GenerationFlags {
  // kUnset: follow --gen-length (a value the user cannot type by accident, so 0 and negatives are
  // reported as errors rather than taken for "default").
  static constexpr int64_t kUnset = INT64_MIN;
  int64_t gen_length = 128, steps = kUnset, block_length = kUnset, batch_size = 1;
  std::string remasking = "low_confidence", cache = "none";
  sample::GenerateOptions o;

  // Registers --gen-length, --steps, --block-length, --temperature, --cfg-scale, --remasking,
  // --seed, --logits-eos-inf, --confidence-eos-eot-inf, --infill, --uneven-steps, --cache,
  // --threshold, --factor, --early-exit, --never-predict-mask, --batch-size.
  void add_to(CLI::App& app);
  // The options they describe; throws naming the flag at fault.
  sample::GenerateOptions resolve() const;
  sample::CacheMode cache_mode() const;
};

}  // namespace llada::cli
