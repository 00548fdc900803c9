// Softmax cross-entropy, fast: rows in parallel, max-subtracted, exp vectorised (fast_math.h).
// Per-row exp sums are float vector partials folded into double every kChunk elements, so a
// 126464-wide row loses no accuracy; the total loss is summed in double.
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
    float mx = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < V; ++j) mx = z[j] > mx ? z[j] : mx;
    double sum = 0.0;
    for (int64_t j0 = 0; j0 < V; j0 += kChunk) {
      const int64_t j1 = j0 + kChunk < V ? j0 + kChunk : V;
      float part = 0.0f;
#pragma omp simd reduction(+ : part)
      for (int64_t j = j0; j < j1; ++j) part += cpu::exp_fast(z[j] - mx);
      sum += part;
    }
    const double lse = double(mx) + std::log(sum);
    const int64_t t = targets[i];
    const double loss = lse - double(z[t]);
    const float w = weights ? weights[i] : 1.0f;
    total += double(w) * loss;
    if (losses) losses[i] = float(loss);
    if (dlogits) {
      float* d = dlogits + i * V;  // may alias z: each element is read before it is written
      // p_j = exp((z_j - max) - log(sum)): z_j - max is exact for nearby values, so large
      // logits (|z| ~ 1e3) lose no precision to a rounded float lse.
      const float ls = float(std::log(sum));
      const float zt = z[t];
#pragma omp simd
      for (int64_t j = 0; j < V; ++j) d[j] = w * cpu::exp_fast((z[j] - mx) - ls);
      d[t] = w * (cpu::exp_fast((zt - mx) - ls) - 1.0f);
    }
  }
  return total;
}

}  // namespace llada::kernels
