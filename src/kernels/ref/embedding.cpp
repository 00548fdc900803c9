// Embedding lookup and its scatter-add gradient: the spec, plain loops.
#include "core/error.h"
#include "kernels/ops.h"

namespace llada::kernels::ref {

void embedding_forward(float* out, const int32_t* ids, const void* wte, DType wte_dtype, int64_t N,
                       int64_t C) {
  for (int64_t i = 0; i < N; ++i) {
    const int64_t row = int64_t(ids[i]) * C;
    for (int64_t c = 0; c < C; ++c) {
      switch (wte_dtype) {
        case DType::F32:
          out[i * C + c] = static_cast<const float*>(wte)[row + c];
          break;
        case DType::BF16:
          out[i * C + c] = bf16_to_f32(static_cast<const bf16_t*>(wte)[row + c]);
          break;
        case DType::F16:
          out[i * C + c] = f16_to_f32(static_cast<const f16_t*>(wte)[row + c]);
          break;
        default:
          fail(strformat("embedding: wte dtype %s not supported", dtype_name(wte_dtype)));
      }
    }
  }
}

void embedding_backward(float* dwte, const float* dout, const int32_t* ids, int64_t N, int64_t C) {
  for (int64_t i = 0; i < N; ++i)
    for (int64_t c = 0; c < C; ++c) dwte[int64_t(ids[i]) * C + c] += dout[i * C + c];
}

}  // namespace llada::kernels::ref
