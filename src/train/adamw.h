// AdamW with decoupled weight decay, exactly torch.optim.AdamW's update (float32 arithmetic):
//   p -= lr*wd*p;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2
//   p -= (lr / (1-b1^t)) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
// Weight decay goes to every matrix (the embedding and head included, as GPT-2/nanoGPT/llm.c do:
// tied or not, they are ordinary projections) and never to the 1-D RMSNorm weights, whose scale is
// not a capacity to regularise. `decay_embeddings=false` exempts wte/head too.
// The moments are Weights laid out like the parameters (one visitor walks all three in step).
#pragma once
#include <cstdint>

#include "model/weights.h"

namespace llada::train {

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;
  bool decay_embeddings = true;
};

class AdamW {
 public:
  AdamW() = default;
  AdamW(const Weights& params, const AdamWConfig& cfg);
  // One update with learning rate `lr`; params must be F32 (master weights).
  void step(Weights& params, const Weights& grads, double lr);
  int64_t steps() const { return t_; }
  void set_steps(int64_t t) { t_ = t; }
  const AdamWConfig& config() const { return cfg_; }
  Weights& m() { return m_; }
  Weights& v() { return v_; }
  const Weights& m() const { return m_; }
  const Weights& v() const { return v_; }
  // Does a tensor of this role get weight decay under this config? (Norms never; embeddings and
  // the head unless decay_embeddings is off; projections always.)
  bool decays(WeightRole role) const;

 private:
  AdamWConfig cfg_;
  Weights m_, v_;
  int64_t t_ = 0;
};

// The scalars of update number t (1-based) for one tensor, computed once per step.
struct AdamWScalars {
  float b1, b2, omb1, omb2, eps, step_size, bc2_sqrt, decay;
  static AdamWScalars make(const AdamWConfig& cfg, double lr, int64_t t, bool decay);
};
// The elementwise update on raw arrays (separate from the Weights walk so it can be tested alone).
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWScalars& s);

// sqrt(sum of squares) of every gradient (double accumulation).
double grad_global_norm(const Weights& grads);
// Zero every gradient tensor.
void zero_grads(Weights& grads);
// torch.nn.utils.clip_grad_norm_: scale by max_norm/(norm+1e-6) when that is < 1. Returns the
// norm before clipping. max_norm <= 0 disables clipping (the norm is still returned).
double clip_grad_norm(Weights& grads, double max_norm);

}  // namespace llada::train
