// Everything that configures one generation run (spec sections 4 and 5), in one place so the CLI,
// evaluation and benchmarks all speak the same vocabulary. Defaults reproduce the reference sampler.
#pragma once
#include <cstdint>
#include <string>

namespace llada::sample {

// How a step ranks the masked positions it may commit.
enum class Remasking {
  LowConfidence,  // softmax probability of the predicted token (LLaDA's default)
  Random,         // U(0,1): the ablation baseline
  Margin,         // top-1 minus top-2 probability
  Entropy,        // negative entropy of the predictive distribution
};
Remasking parse_remasking(const std::string& s);  // throws llada::Error naming --remasking
const char* remasking_name(Remasking r);

struct GenerateOptions {
  int64_t gen_length = 128;
  int64_t steps = 128;          // total over all blocks; ignored by threshold/factor decoding
  int64_t block_length = 128;   // semi-autoregressive block size; gen_length must be a multiple
  double temperature = 0.0;     // 0 = greedy; > 0 = float64 Gumbel-max (sampling from softmax(l/T))
  double cfg_scale = 0.0;       // classifier-free guidance; 0 = off
  Remasking remasking = Remasking::LowConfidence;
  uint64_t seed = 0;
  bool logits_eos_inf = false;          // EOS logit -inf before the prediction
  bool confidence_eos_eot_inf = false;  // EoT (and at temperature 0, EOS) -inf before the confidence
  bool infill = false;                  // allow mask ids inside the prompt (they are filled too)
  // Generalisation: when steps % num_blocks != 0, give the first steps % num_blocks blocks one extra
  // step instead of failing (the reference asserts). Off by default.
  bool uneven_steps = false;
  // Parallel decoding (spec section 5). threshold > 0: commit the most confident masked position of
  // the block plus every other one with confidence >= threshold. factor > 0: the factor rule. Both
  // run each block until it has no masks (steps is then unused). At most one of the two.
  double threshold = 0.0;
  double factor = 0.0;
  // Once a finished block holds EOS, every later position becomes EOS and that row stops.
  bool early_exit = false;
  // Never commit the mask id (its logit -inf). Off by default: the authors' sampler may predict it.
  // Always on for parallel decoding and KV-cached sources (see generate.cpp).
  bool never_predict_mask = false;
  // Causal models only: run the whole prefix at every step instead of one token over the KV cache
  // (the same tokens, far slower: the check and the baseline of the cache).
  bool ar_recompute = false;

  bool parallel() const { return threshold > 0 || factor > 0; }
};

}  // namespace llada::sample
