// Monte-Carlo likelihood evaluation (spec section 4, "Likelihood"): the authors' low-variance
// estimator of log p(answer | prompt), an evidence lower bound in nats (not length-normalised).
// Used for multiple-choice benchmarks (pick the choice with the highest estimate) and for
// comparing a diffusion model's likelihood with an autoregressive baseline's.
#pragma once
#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "model/model.h"

namespace llada {

struct LikelihoodOptions {
  int64_t mc_num = 128;     // Monte-Carlo samples in all (a multiple of batch, or below it)
  int64_t batch = 16;       // rows per model call (mc_num when that is smaller)
  double cfg_scale = 0.0;   // > 0: unconditional input masks the whole prompt
  int32_t mask_id = -1;     // the model's mask token
  uint64_t seed = 0;
};

struct LikelihoodResult {
  double log_likelihood = 0;  // the estimate (minus the mean loss over mini-batches)
  // Its standard error: from the spread of mini-batch means when there are 8 or more, else from
  // the spread of single rows (an overstatement for the stratified rows, but never 0); 0 when the
  // estimate is exact (a one-token answer).
  double std_error = 0;
  int64_t samples = 0;  // Monte-Carlo rows used
  int64_t model_calls = 0;
};

// Estimates log p(answer | prompt). An answer of one token needs one sample (m = A = 1 always):
// then the estimate is exact, log softmax of the answer token.
LikelihoodResult estimate_log_likelihood(const Model& m, const std::vector<int32_t>& prompt,
                                         const std::vector<int32_t>& answer,
                                         const LikelihoodOptions& opt, Workspace& ws);

// The mask counts of one mini-batch: m_r = ((round(k + r*A/batch) - 1) mod A) + 1 (round half to
// even, as torch.round), exposed for tests.
std::vector<int64_t> likelihood_mask_counts(int64_t k, int64_t A, int64_t batch);

// The autoregressive baseline's exact log p(answer | prompt) (causal model, next-token targets).
double autoregressive_log_likelihood(const Model& m, const std::vector<int32_t>& prompt,
                                     const std::vector<int32_t>& answer, Workspace& ws);

}  // namespace llada
