// The AdamW arithmetic alone (no Weights), so it links and is tested without the model module.
#include <cmath>

#include "train/adamw.h"

namespace llada::train {

// Same arithmetic as torch's single-tensor AdamW: bias corrections in double, the update in f32.
AdamWScalars AdamWScalars::make(const AdamWConfig& cfg, double lr, int64_t t, bool decay) {
  AdamWScalars s;
  const double bc1 = 1.0 - std::pow(cfg.beta1, double(t));
  const double bc2 = 1.0 - std::pow(cfg.beta2, double(t));
  s.b1 = float(cfg.beta1);
  s.b2 = float(cfg.beta2);
  s.omb1 = float(1.0 - cfg.beta1);
  s.omb2 = float(1.0 - cfg.beta2);
  s.eps = float(cfg.eps);
  s.step_size = float(lr / bc1);
  s.bc2_sqrt = float(std::sqrt(bc2));
  s.decay = decay ? float(1.0 - lr * cfg.weight_decay) : 1.0f;
  return s;
}

void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWScalars& s) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    const float mi = s.b1 * m[i] + s.omb1 * gi;
    const float vi = s.b2 * v[i] + s.omb2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / s.bc2_sqrt + s.eps;
    p[i] = p[i] * s.decay - s.step_size * (mi / denom);
  }
}

}  // namespace llada::train
