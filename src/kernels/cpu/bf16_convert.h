// f32 -> bf16 row conversion with round-to-nearest-even (the rounding PyTorch uses), vectorised
// with the avx512_bf16 convert instruction when the build targets it.
#pragma once
#include <cstdint>

#include "core/dtype.h"

#if defined(__AVX512BF16__) && defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace llada::kernels::cpu {

inline void f32_to_bf16_row(bf16_t* dst, const float* src, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512BF16__) && defined(__AVX512F__)
  // vcvtneps2bf16 rounds to nearest even and keeps NaNs quiet, like f32_to_bf16, but treats
  // denormal inputs (|x| < 2^-126) as zero of the same sign.
  for (; i + 16 <= n; i += 16) {
    __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), reinterpret_cast<__m256i&>(h));
  }
#endif
  for (; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}

}  // namespace llada::kernels::cpu
