// RoPE (rotate-half), the spec. Row r uses table row pos[r]; within each head the element pairs
// (i, i + hd/2) are rotated by the angle of frequency i.
#include "kernels/ops.h"

namespace llada::kernels::ref {

void rope_forward(float* x, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                  int64_t n_heads, int64_t hd) {
  const int64_t half = hd / 2;
  for (int64_t r = 0; r < N; ++r)
    for (int64_t h = 0; h < n_heads; ++h) {
      float* p = x + (r * n_heads + h) * hd;
      const float* c = cos + int64_t(pos[r]) * half;
      const float* s = sin + int64_t(pos[r]) * half;
      for (int64_t i = 0; i < half; ++i) {
        const float x1 = p[i], x2 = p[i + half];
        p[i] = x1 * c[i] - x2 * s[i];
        p[i + half] = x2 * c[i] + x1 * s[i];
      }
    }
}

void rope_backward(float* dx, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                   int64_t n_heads, int64_t hd) {
  const int64_t half = hd / 2;
  for (int64_t r = 0; r < N; ++r)
    for (int64_t h = 0; h < n_heads; ++h) {
      float* p = dx + (r * n_heads + h) * hd;
      const float* c = cos + int64_t(pos[r]) * half;
      const float* s = sin + int64_t(pos[r]) * half;
      for (int64_t i = 0; i < half; ++i) {
        const float g1 = p[i], g2 = p[i + half];
        p[i] = g1 * c[i] + g2 * s[i];
        p[i + half] = g2 * c[i] - g1 * s[i];
      }
    }
}

}  // namespace llada::kernels::ref
