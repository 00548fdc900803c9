// Embedding gather (parallel over rows) and scatter-add gradient (parallel over column blocks so
// that repeated ids never race and no per-thread copies of dwte are needed).
#include <cstring>

#include "core/error.h"
#include "kernels/ops.h"

namespace llada::kernels {

void embedding_forward(float* out, const int32_t* ids, const void* wte, DType wte_dtype, int64_t N,
                       int64_t C) {
  LLADA_CHECK(wte_dtype == DType::F32 || wte_dtype == DType::BF16 || wte_dtype == DType::F16,
              "embedding: wte dtype %s not supported (F32, BF16, F16)", dtype_name(wte_dtype));
#pragma omp parallel for schedule(static) if (N * C >= 65536)
  for (int64_t i = 0; i < N; ++i) {
    const int64_t row = int64_t(ids[i]) * C;
    float* o = out + i * C;
    if (wte_dtype == DType::F32) {
      std::memcpy(o, static_cast<const float*>(wte) + row, size_t(C) * 4);
    } else if (wte_dtype == DType::BF16) {
      const bf16_t* w = static_cast<const bf16_t*>(wte) + row;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) o[c] = bf16_to_f32(w[c]);
    } else {
      const f16_t* w = static_cast<const f16_t*>(wte) + row;
      for (int64_t c = 0; c < C; ++c) o[c] = f16_to_f32(w[c]);
    }
  }
}

void embedding_backward(float* dwte, const float* dout, const int32_t* ids, int64_t N, int64_t C) {
  constexpr int64_t kBlock = 256;
  const int64_t nblocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (N * C >= 65536)
  for (int64_t cb = 0; cb < nblocks; ++cb) {
    const int64_t c0 = cb * kBlock, c1 = c0 + kBlock < C ? c0 + kBlock : C;
    for (int64_t i = 0; i < N; ++i) {
      float* __restrict d = dwte + int64_t(ids[i]) * C;
      const float* __restrict g = dout + i * C;
#pragma omp simd
      for (int64_t c = c0; c < c1; ++c) d[c] += g[c];
    }
  }
}

}  // namespace llada::kernels
