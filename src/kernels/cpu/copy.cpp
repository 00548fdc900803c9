// Activation copies of the model layer: memcpy/memset behind op names, so the model code does
// not assume host memory (a GPU backend implements the same four).
#include <algorithm>
#include <cstring>

#include "kernels/cpu/bf16_convert.h"
#include "kernels/ops.h"

namespace llada::kernels {

void copy(float* dst, const float* src, int64_t n) {
  if (n > 0 && dst != src) std::memcpy(dst, src, size_t(n) * sizeof(float));
}

void zero(float* dst, int64_t n) {
  if (n > 0) std::memset(dst, 0, size_t(n) * sizeof(float));
}

void gather_rows(float* dst, const float* src, const int32_t* rows, int64_t n, int64_t C) {
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * C, src + int64_t(rows[i]) * C, size_t(C) * sizeof(float));
}

void copy_strided(float* dst, int64_t dst_stride, const float* src, int64_t src_stride, int64_t batches,
                  int64_t n) {
  for (int64_t b = 0; b < batches; ++b)
    std::memcpy(dst + b * dst_stride, src + b * src_stride, size_t(n) * sizeof(float));
}

void round_to_bf16(bf16_t* dst, const float* src, int64_t n) {
  constexpr int64_t kChunk = 1 << 14;  // 64 KB of input per task: large enough to hide thread start-up
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t i = c * kChunk;
    cpu::f32_to_bf16_row(dst + i, src + i, std::min(kChunk, n - i));
  }
}

}  // namespace llada::kernels
