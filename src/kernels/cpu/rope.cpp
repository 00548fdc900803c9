// RoPE tables and the fast in-place rotation (parallel over rows, vectorised over frequencies).
//
// Tables match PyTorch's float32 recipe bit for bit in inv_freq and angle:
//   inv_freq = 1 / (theta ** (arange(0, hd, 2).float() / hd))      (float32)
//   angle    = pos.float()[:, None] * inv_freq[None, :]            (float32)
// We emulate each float32 step (the pow is evaluated in double and rounded, which equals PyTorch's
// float pow for every hd/theta we checked) and take cos/sin of the float angle in double, rounded
// once. Measured against torch 1.13 (theta 1e4 and 5e5, hd 64 and 128, 4096 positions): inv_freq
// identical, cos/sin within 1 ulp (6e-8; torch's float sin/cos is not correctly rounded). Computing
// the whole table in double instead would differ from torch by up to 2.8e-4 at position 4095,
// because torch's float32 angle itself carries that rounding error.
#include <cmath>

#include "kernels/ops.h"

namespace llada::kernels {

void rope_tables(float* cos, float* sin, int64_t T, int64_t hd, double theta) {
  const int64_t half = hd / 2;
  const float theta_f = float(theta);
  for (int64_t i = 0; i < half; ++i) {
    const float e = float(2 * i) / float(hd);
    const float p = float(std::pow(double(theta_f), double(e)));
    const float inv = 1.0f / p;
    for (int64_t t = 0; t < T; ++t) {
      const float angle = float(t) * inv;
      cos[t * half + i] = float(std::cos(double(angle)));
      sin[t * half + i] = float(std::sin(double(angle)));
    }
  }
}

namespace {

// Rotates each head's (first half, second half) pairs by +angle (forward) or -angle (the backward:
// a rotation's gradient is its transpose). The sign is a template argument so the loop stays a
// plain fused multiply-add the vectoriser handles.
template <int kSign>
void rotate(float* x, const int32_t* pos, const float* cos, const float* sin, int64_t N,
            int64_t n_heads, int64_t hd) {
  const int64_t half = hd / 2;
#pragma omp parallel for schedule(static) if (N * n_heads * hd >= 16384)
  for (int64_t r = 0; r < N; ++r) {
    const float* c = cos + int64_t(pos[r]) * half;
    const float* s = sin + int64_t(pos[r]) * half;
    for (int64_t h = 0; h < n_heads; ++h) {
      float* __restrict p1 = x + (r * n_heads + h) * hd;
      float* __restrict p2 = p1 + half;
#pragma omp simd
      for (int64_t i = 0; i < half; ++i) {
        const float x1 = p1[i], x2 = p2[i], si = float(kSign) * s[i];
        p1[i] = x1 * c[i] - x2 * si;
        p2[i] = x2 * c[i] + x1 * si;
      }
    }
  }
}

}  // namespace

void rope_forward(float* x, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                  int64_t n_heads, int64_t hd) {
  rotate<1>(x, pos, cos, sin, N, n_heads, hd);
}

void rope_backward(float* dx, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                   int64_t n_heads, int64_t hd) {
  rotate<-1>(dx, pos, cos, sin, N, n_heads, hd);
}

}  // namespace llada::kernels
