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

#if defined(__AVX512F__) && defined(__AVX512DQ__)
// exp(z) of 8 doubles for z <= 0 (softmax terms after the max is subtracted): z = n ln2 + r with
// |r| <= ln2/2, e^r by its Taylor series to r^12 (truncation <= 2e-16 relative), 2^n in the
// exponent bits; about 2 ulp, like libm's exp. z < -708.39 (where 2^n would be subnormal),
// -inf included, gives 0: such a term is below 1e-307 of the largest term, which is 1.
inline __m512d exp_f64x8_nonpos(__m512d z) {
  const __mmask8 live = _mm512_cmp_pd_mask(z, _mm512_set1_pd(-708.39), _CMP_GE_OQ);
  z = _mm512_max_pd(z, _mm512_set1_pd(-708.39));
  const __m512d n = _mm512_roundscale_pd(_mm512_mul_pd(z, _mm512_set1_pd(1.4426950408889634)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(6.93147180369123816490e-01), z);
  r = _mm512_fnmadd_pd(n, _mm512_set1_pd(1.90821492927058770002e-10), r);
  __m512d p = _mm512_set1_pd(1.0 / 479001600.0);  // 1/12!
  const double inv_fact[] = {1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0,
                             1.0 / 5040.0,     1.0 / 720.0,     1.0 / 120.0,    1.0 / 24.0,
                             1.0 / 6.0,        0.5,             1.0,            1.0};
  for (double c : inv_fact) p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(c));
  const __m512i bits = _mm512_slli_epi64(
      _mm512_add_epi64(_mm512_cvtpd_epi64(n), _mm512_set1_epi64(1023)), 52);
  return _mm512_maskz_mul_pd(live, p, _mm512_castsi512_pd(bits));
}
#endif

// sum_v exp(l_v - mx) and, if wsum, sum_v exp(l_v - mx) * (l_v - mx), in float64 (the
// reference's softmax precision), over v < n; -inf logits contribute 0. mx >= every l_v.
inline void exp_sums_f64(const float* l, int64_t n, float mx, double* sum, double* wsum) {
  double s = 0.0, w = 0.0;
  int64_t v = 0;
  const double m = double(mx);
#if defined(__AVX512F__) && defined(__AVX512DQ__)
  __m512d vs = _mm512_setzero_pd(), vw = _mm512_setzero_pd();
  const __m512d vm = _mm512_set1_pd(m);
  for (; v + 8 <= n; v += 8) {
    const __m512d z = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(l + v)), vm);
    const __m512d e = exp_f64x8_nonpos(z);
    vs = _mm512_add_pd(vs, e);
    if (wsum) vw = _mm512_add_pd(vw, _mm512_maskz_mul_pd(_mm512_cmp_pd_mask(e, _mm512_setzero_pd(), _CMP_GT_OQ), e, z));
  }
  s = _mm512_reduce_add_pd(vs);
  w = _mm512_reduce_add_pd(vw);
#endif
  for (; v < n; ++v) {
    const double z = double(l[v]) - m;
    const double e = std::exp(z);
    s += e;
    if (e > 0) w += e * z;
  }
  *sum = s;
  if (wsum) *wsum = w;
}

}  // namespace llada::kernels::cpu
