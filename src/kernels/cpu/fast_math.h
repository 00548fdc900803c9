// Vectorisable exp for the softmax-shaped loops (attention, cross-entropy, SwiGLU). libm's expf is
// not vectorised without -ffast-math, and these loops run exp over every score, so we use the
// Cephes expf scheme: x = n ln2 + r with |r| <= ln2/2, a degree-6 polynomial for e^r, and 2^n
// built in the exponent bits. Relative error <= 8.4e-8 (1.4 ulp) measured on [-87, 88]; inputs
// below -87.3 (including -inf) give 0, above 88.3 saturate to exp(88.3) ~ 2.1e38 (callers
// subtract a max first).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace llada::kernels::cpu {

#pragma omp declare simd notinbranch
inline float exp_fast(float x) {
  const float hi = 88.3f, lo = -87.3f;  // 88.3 rounds to n = 127: 2^n stays finite
  const bool underflow = x < lo;
  x = x > hi ? hi : x;
  x = x < lo ? lo : x;
  // Round x*log2(e) to nearest with the 1.5*2^23 trick (exact for |v| < 2^22, no libm call).
  const float magic = 12582912.0f;
  const float n = (x * 1.44269504088896341f + magic) - magic;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (int32_t(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return underflow ? 0.0f : p * scale;
}

// max(x[0..n)), -inf for n = 0. GCC does not vectorise a float max reduction without
// -ffast-math (even under `omp simd reduction(max)`), and attention's softmax spent ~40% of its
// time in that scalar loop. Inputs are finite scores; what a NaN gives is unspecified.
inline float max_of(const float* x, int64_t n) {
  int64_t i = 0;
  float mx = -INFINITY;
#if defined(__AVX512F__)
  if (n >= 16) {
    __m512 v = _mm512_loadu_ps(x);
    for (i = 16; i + 16 <= n; i += 16) v = _mm512_max_ps(v, _mm512_loadu_ps(x + i));
    mx = _mm512_reduce_max_ps(v);
  }
#endif
  for (; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  return mx;
}

}  // namespace llada::kernels::cpu
