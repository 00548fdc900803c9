// RMSNorm, fast: rows in parallel; the sum of squares is accumulated in double (vectorised) so the
// result matches the reference to an ulp. Backward computes dx by rows, then dw by column blocks
// (each thread owns a slice of dw: no races and no per-thread copies).
#include <cmath>

#include "kernels/ops.h"

namespace llada::kernels {

void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int64_t N, int64_t C,
                     float eps) {
#pragma omp parallel for schedule(static) if (N * C >= 32768)
  for (int64_t i = 0; i < N; ++i) {
    const float* __restrict xi = x + i * C;
    float* __restrict oi = out + i * C;
    double ss = 0.0;
#pragma omp simd reduction(+ : ss)
    for (int64_t c = 0; c < C; ++c) ss += double(xi[c]) * double(xi[c]);
    const float r = 1.0f / std::sqrt(float(ss / double(C)) + eps);
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) oi[c] = (xi[c] * r) * w[c];
    if (rstd) rstd[i] = r;
  }
}

void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w,
                      const float* rstd, int64_t N, int64_t C) {
  const bool par = N * C >= 32768;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t i = 0; i < N; ++i) {
    const float* __restrict xi = x + i * C;
    const float* __restrict gi = dout + i * C;
    float* __restrict dxi = dx + i * C;
    double dot = 0.0;
#pragma omp simd reduction(+ : dot)
    for (int64_t c = 0; c < C; ++c) dot += double(gi[c] * w[c]) * double(xi[c]);
    const float r = rstd[i];
    const float k = float(double(r) * r * r * dot / double(C));
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) dxi[c] += r * w[c] * gi[c] - k * xi[c];
  }
  constexpr int64_t kBlock = 64;
  const int64_t nblocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t cb = 0; cb < nblocks; ++cb) {
    const int64_t c0 = cb * kBlock, c1 = c0 + kBlock < C ? c0 + kBlock : C;
    float acc[kBlock] = {};
    for (int64_t i = 0; i < N; ++i) {
      const float* __restrict xi = x + i * C;
      const float* __restrict gi = dout + i * C;
      const float r = rstd[i];
#pragma omp simd
      for (int64_t c = c0; c < c1; ++c) acc[c - c0] += gi[c] * xi[c] * r;
    }
    for (int64_t c = c0; c < c1; ++c) dw[c] += acc[c - c0];
  }
}

}  // namespace llada::kernels
