// Everything that configures one generation run (spec sections 4 and 5), in one place so the CLI,
// evaluation and benchmarks all speak the same vocabulary. Defaults reproduce the reference sampler.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>

namespace llada::sample {

// How a step ranks the masked positions it may commit.
enum class Remasking {
  LowConfidence,  // softmax probability of the predicted token (LLaDA's default)
  Random,         // U(0,1): the ablation baseline
  Margin,         // top-1 minus top-2 probability
  Entropy,        // negative entropy of the predictive distribution
};
Remasking parse_remasking(const std::string& s);  // throws llada::OptionError naming {remasking}
const char* remasking_name(Remasking r);

struct GenerateOptions {
  int64_t gen_length = 128;
  // Total over all blocks (unset: gen_length, one token per step); unused by threshold/factor.
  std::optional<int64_t> steps;
  // Semi-autoregressive block size (unset: gen_length, one block); gen_length must be a multiple.
  std::optional<int64_t> block_length;
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
  int64_t total_steps() const { return steps.value_or(gen_length); }
  int64_t block() const { return block_length.value_or(gen_length); }
};

// Checks every option on its own and against the others; throws llada::OptionError with the
// fields marked {name}, so a front end can name them its own way.
void validate_options(const GenerateOptions& o);

// The options as every front end declares them (the command line's flags, a request's JSON
// fields): one row per GenerateOptions field, its name, help and member. The default is the
// member's value in a default GenerateOptions. A new option is a new member and a new row.
using OptionMember =
    std::variant<int64_t GenerateOptions::*, std::optional<int64_t> GenerateOptions::*, double GenerateOptions::*,
                 uint64_t GenerateOptions::*, bool GenerateOptions::*, Remasking GenerateOptions::*>;
struct OptionField {
  const char* name;  // snake_case: the JSON field; the flag is flag_spelling(name)
  const char* help;
  OptionMember member;
  // Which decoder the option configures; giving it to the other family's model is an error.
  enum class Family { Both, Diffusion, Autoregressive } family = Family::Both;
};
std::span<const OptionField> generate_option_fields();

}  // namespace llada::sample
