// Training objectives: each turns clean token sequences into one model call's inputs
// (noisy ids, the rows that carry a loss, their targets and weights) for model_forward_backward.
//
//   diffusion  spec section 2: per-sequence t ~ U(0,1) (or stratified t_i = (i+u)/b), p = (1-eps)t+eps,
//              each token masked with probability p, weight 1/(p*b*L); 1% of batches cut to a random
//              length U[1, L] (then L is that length, as in the authors' code).
//   sft        spec section 3: the prompt is never masked (unless trained guidance masks it whole),
//              EOS padding is an ordinary target, weight 1/(p*answer_len*b).
//   ar         the autoregressive baseline: causal attention, next-token targets, weight 1/(b*(L-1)).
//   sft of a causal model (make_ar_sft_batch): next-token targets on the response positions only
//              (EOS padding included, as in LLaDA's SFT), weight 1/(answer_len*b).
//
// The batch's vectors are reused across calls (clear() keeps capacity) so the steady state
// allocates nothing.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"

namespace llada::train {

enum class Objective { Diffusion, Sft, Ar };
Objective objective_from_name(const std::string& s);  // "diffusion" | "sft" | "ar"; throws naming s
const char* objective_name(Objective o);

// One model call's worth of work. `weights` already include every normalisation (and the
// 1/accumulation factor when the caller passes `scale`), so sum(weights*CE) is the loss.
struct TrainBatch {
  int64_t B = 0, T = 0;
  bool causal = false;
  std::vector<int32_t> ids;      // [B*T] model input (noisy for diffusion/sft, clean for ar)
  std::vector<int32_t> rows;     // flat indices b*T + t that carry a loss
  std::vector<int32_t> targets;  // [rows] the clean token at that row (next token for ar)
  std::vector<float> weights;    // [rows]
  std::vector<float> p_mask;     // [B] masking probability per sequence (diffusion/sft; for tests)
  int64_t tokens() const { return B * T; }
};

// How masked positions are weighted.
//   Elbo  spec section 2: CE / p / (b*L), the variational bound (each sequence counts equally in
//         expectation, but a row with a tiny p puts its few masked tokens at weight 1/p).
//   Flat  every masked token of the batch at the same weight 1/(masked tokens in the batch): the
//         mean masked cross-entropy (MaskGIT / BERT style); lower variance, not a bound.
enum class MaskWeighting { Elbo, Flat };
MaskWeighting mask_weighting_from_name(const std::string& s);  // "elbo" | "flat"; throws naming s
const char* mask_weighting_name(MaskWeighting w);

struct DiffusionOptions {
  int32_t mask_id = -1;
  double eps = 1e-3;
  double random_length_prob = 0.01;  // LLaDA trains 1% of batches at a random length U[1, L]
  bool stratified_t = false;         // t_i = (i + u) / b: one u per batch, lower loss variance
  MaskWeighting weighting = MaskWeighting::Elbo;
};

// clean: [B, L] row-major. The random length (when drawn) truncates every row to the same length.
// `scale` multiplies every weight (1/accumulation steps).
void make_diffusion_batch(const int32_t* clean, int64_t B, int64_t L, const DiffusionOptions& o,
                          Rng& rng, TrainBatch& out, float scale = 1.0f);

// Noise with a given t per row (no random length): the held-out loss uses it with fixed seeds.
void make_diffusion_batch_fixed_t(const int32_t* clean, int64_t B, int64_t L, const double* t,
                                  const DiffusionOptions& o, Rng& rng, TrainBatch& out,
                                  float scale = 1.0f);

// An SFT sample, already tokenized: prompt tokens then response tokens (the response normally ends
// with EOS). The batch pads every response with EOS up to `T` (fixed length, spec section 3).
struct SftSample {
  const int32_t* ids = nullptr;
  int64_t len = 0;
  int64_t prompt_len = 0;
};

struct SftOptions {
  int32_t mask_id = -1;
  int32_t eos_id = -1;
  double eps = 1e-3;
  bool stratified_t = false;
  // Trained classifier-free guidance: with this probability a sample's whole prompt is masked too
  // (its prompt positions are inputs only, never targets). 0 = LLaDA's default.
  double prompt_mask_prob = 0.0;
};

// Every sample must satisfy prompt_len < T (at least one answer position) and len <= T; longer
// samples are an error naming the sample index (the data layer truncates, not the objective).
void make_sft_batch(const SftSample* samples, int64_t B, int64_t T, const SftOptions& o, Rng& rng,
                    TrainBatch& out, float scale = 1.0f);

// Autoregressive baseline on [B, L] clean rows: input = the row, targets = the next token at
// positions 0..L-2, weight 1/(B*(L-1)).
void make_ar_batch(const int32_t* clean, int64_t B, int64_t L, TrainBatch& out, float scale = 1.0f);

// Autoregressive SFT: next-token loss on response positions only (prompt positions predict nothing),
// weight 1/(answer_len*B) per sample, rows padded with EOS to T.
void make_ar_sft_batch(const SftSample* samples, int64_t B, int64_t T, int32_t eos_id,
                       TrainBatch& out, float scale = 1.0f);

}  // namespace llada::train
