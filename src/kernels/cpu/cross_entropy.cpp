// Softmax cross-entropy, fast: rows in parallel, max-subtracted, exp vectorised (fast_math.h).
// Per-row exp sums are float vector partials folded into double every kChunk elements, so a
// 126464-wide row loses no accuracy; the total loss is summed in double. Exponents are taken of
// z - max (exact for nearby values), so logits of magnitude 1e3 lose nothing to rounding.
#include <cmath>
#include <limits>

#include "kernels/cpu/fast_math.h"
#include "kernels/ops.h"

namespace llada::kernels {

double cross_entropy_forward_backward(float* dlogits, float* losses, const float* logits,
                                      const int32_t* targets, const float* weights, int64_t n,
                                      int64_t V) {
  constexpr int64_t kChunk = 1024;
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (n * V >= 65536 && n > 1)
  for (int64_t i = 0; i < n; ++i) {
    const float* z = logits + i * V;
    const float mx = cpu::max_of(z, V);
    const int64_t t = targets[i];
    const float zt = z[t];  // read before dlogits (which may alias z) is written
    const float w = weights ? weights[i] : 1.0f;
    // With dlogits, e_j = exp(z_j - max) is stored there on the way and scaled afterwards, so
    // exp runs once per element either way.
    float* d = dlogits ? dlogits + i * V : nullptr;
    double sum = 0.0;
    for (int64_t j0 = 0; j0 < V; j0 += kChunk) {
      const int64_t j1 = j0 + kChunk < V ? j0 + kChunk : V;
      float part = 0.0f;
      if (d) {
#pragma omp simd reduction(+ : part)
        for (int64_t j = j0; j < j1; ++j) {
          d[j] = cpu::exp_fast(z[j] - mx);
          part += d[j];
        }
      } else {
#pragma omp simd reduction(+ : part)
        for (int64_t j = j0; j < j1; ++j) part += cpu::exp_fast(z[j] - mx);
      }
      sum += part;
    }
    const double lse = double(mx) + std::log(sum);
    const double loss = lse - double(zt);
    total += double(w) * loss;
    if (losses) losses[i] = float(loss);
    if (d) {
      const float scale = float(double(w) / sum);
#pragma omp simd
      for (int64_t j = 0; j < V; ++j) d[j] *= scale;
      d[t] -= w;
    }
  }
  return total;
}

}  // namespace llada::kernels
