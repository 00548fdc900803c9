// The per-position arithmetic of one sampling step (spec section 4): guidance, the EOS switches,
// the float64 Gumbel-max prediction and the confidence rules; and the per-sequence choice of which
// positions to commit (top-k by schedule, threshold, factor). Pure functions, tested on their own.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "core/rng.h"
#include "sample/options.h"

namespace llada::sample {

struct RowRule {
  int64_t vocab = 0;     // columns considered (the tokenizer's vocab_size)
  int32_t eos = -1;      // -1: none
  int32_t eot = -1;      // -1: none
  int32_t mask = -1;     // if >= 0 never predicted (its logit is -inf); -1: allowed, as the reference
  double temperature = 0.0;
  Remasking remasking = Remasking::LowConfidence;
  bool logits_eos_inf = false;
  bool confidence_eos_eot_inf = false;
};

// A remasking rule is one row: its name, whether its confidence draws random numbers (such rules
// keep the rows of a step in order, so a seed gives the same run on any thread count) and its
// confidence function over a row of logits whose prediction is `token`. A new rule is a new row
// (and an enum value); Rules.TableMatchesWhatEachRuleDraws checks the flag against the function.
struct RemaskingRule {
  Remasking id;
  const char* name;
  bool draws_random;
  double (*confidence)(const float* logits, int64_t vocab, int32_t token, Rng& rng);
  const char* help;
};
std::span<const RemaskingRule> remasking_rules();
const RemaskingRule& remasking_rule(Remasking r);

struct Prediction {
  int32_t token = -1;  // x0
  double conf = 0.0;   // higher = commit first
};

// l = u + (scale + 1) * (c - u) in float32, the reference's arithmetic order.
void guide_logits(float* out, const float* cond, const float* uncond, double cfg_scale, int64_t n);

// Predicts x0 and its confidence for one row of logits `l` (modified in place: the EOS switch).
// Draws from `rng` in a fixed order: vocab uniforms when temperature > 0, then one when random.
Prediction predict_row(float* l, const RowRule& rule, Rng& rng);

// A masked position competing to be committed in this step.
struct Candidate {
  int32_t pos = 0;
  int32_t token = 0;
  double conf = 0.0;
};

// Orders by confidence, highest first; exact ties go to the lowest position (spec section 4).
void rank_candidates(Candidate* c, int64_t n);
// On a ranked list: how many to commit under the threshold rule (at least one when n > 0).
int64_t count_threshold(const Candidate* ranked, int64_t n, double tau);
// On a ranked list: the longest prefix with c_k >= 1 - f/(k+1), k = 1.. (at least one when n > 0).
int64_t count_factor(const Candidate* ranked, int64_t n, double f);

// The per-block transfer schedule: n/steps + (s < n%steps) for s in [0, steps).
std::vector<int64_t> transfer_schedule(int64_t n, int64_t steps);

}  // namespace llada::sample
