// RMSNorm, the spec: out = (x * rstd) * w with rstd = 1/sqrt(mean(x^2) + eps) (PyTorch's order).
// Backward: with r = rstd, y_i = x_i r w_i and dr/dx_j = -r^3 x_j / C,
//   dx_j = r w_j g_j - (r^3 / C) x_j sum_i g_i w_i x_i,   dw_i += g_i x_i r.
#include <cmath>

#include "kernels/ops.h"

namespace llada::kernels::ref {

void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int64_t N, int64_t C,
                     float eps) {
  for (int64_t i = 0; i < N; ++i) {
    const float* xi = x + i * C;
    double ss = 0.0;
    for (int64_t c = 0; c < C; ++c) ss += double(xi[c]) * xi[c];
    const float r = 1.0f / std::sqrt(float(ss / double(C)) + eps);
    for (int64_t c = 0; c < C; ++c) out[i * C + c] = (xi[c] * r) * w[c];
    if (rstd) rstd[i] = r;
  }
}

void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w,
                      const float* rstd, int64_t N, int64_t C) {
  for (int64_t i = 0; i < N; ++i) {
    const float* xi = x + i * C;
    const float* gi = dout + i * C;
    const double r = rstd[i];
    double dot = 0.0;
    for (int64_t c = 0; c < C; ++c) dot += double(gi[c]) * w[c] * xi[c];
    const double k = r * r * r * dot / double(C);
    for (int64_t c = 0; c < C; ++c) {
      dx[i * C + c] += float(r * w[c] * gi[c] - k * xi[c]);
      dw[c] += float(double(gi[c]) * xi[c] * r);
    }
  }
}

}  // namespace llada::kernels::ref
