// The sampler's per-row statistics over a vocabulary, on the vectorised helpers of fast_math.h.
#include "kernels/cpu/fast_math.h"
#include "kernels/ops.h"

namespace llada::kernels {

float row_max(const float* x, int64_t n) { return cpu::max_of(x, n); }

void row_exp_sums_f64(const float* l, int64_t n, float mx, double* sum, double* wsum) {
  cpu::exp_sums_f64(l, n, mx, sum, wsum);
}

}  // namespace llada::kernels
