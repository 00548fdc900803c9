// Softmax cross-entropy, the spec: max-subtracted, sums in double.
#include <cmath>
#include <limits>

#include "kernels/ops.h"

namespace llada::kernels::ref {

double cross_entropy_forward_backward(float* dlogits, float* losses, const float* logits,
                                      const int32_t* targets, const float* weights, int64_t n,
                                      int64_t V) {
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float* z = logits + i * V;
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < V; ++j) mx = z[j] > mx ? z[j] : mx;
    double sum = 0.0;
    for (int64_t j = 0; j < V; ++j) sum += std::exp(double(z[j]) - mx);
    const double lse = mx + std::log(sum);
    const double loss = lse - z[targets[i]];
    const float w = weights ? weights[i] : 1.0f;
    total += double(w) * loss;
    if (losses) losses[i] = float(loss);
    if (dlogits) {
      const int64_t t = targets[i];
      float* d = dlogits + i * V;
      for (int64_t j = 0; j < V; ++j) {
        const double p = std::exp(double(z[j]) - lse);  // reads z[j] before d[j] overwrites it
        d[j] = float(w * (p - (j == t ? 1.0 : 0.0)));
      }
    }
  }
  return total;
}

}  // namespace llada::kernels::ref
