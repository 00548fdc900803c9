// The gemm spec: plain loops, f32 accumulation in k order. bf16 operands follow the fast path's
// contract: when either operand is bf16, f32 values of the other are rounded to bf16 first.
#include "core/error.h"
#include "kernels/matmul.h"

namespace llada::kernels {
namespace {

struct Reader {
  const Operand& x;
  bool round;  // round f32 values to bf16 (mixed-precision contract)
  float operator()(int64_t i, int64_t j) const {
    const int64_t off = x.trans ? j * x.ld + i : i * x.ld + j;
    if (x.dtype == DType::BF16) return bf16_to_f32(static_cast<const bf16_t*>(x.data)[off]);
    const float v = static_cast<const float*>(x.data)[off];
    return round ? bf16_to_f32(f32_to_bf16(v)) : v;
  }
};

}  // namespace

void gemm_ref(int64_t M, int64_t N, int64_t K, const Operand& A, const Operand& B, float* C,
              int64_t ldc, float beta) {
  LLADA_CHECK(A.dtype == DType::F32 || A.dtype == DType::BF16, "gemm_ref: A dtype %s",
              dtype_name(A.dtype));
  LLADA_CHECK(B.dtype == DType::F32 || B.dtype == DType::BF16, "gemm_ref: B dtype %s",
              dtype_name(B.dtype));
  const bool bf16 = A.dtype == DType::BF16 || B.dtype == DType::BF16;
  Reader a{A, bf16}, b{B, bf16};
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      float acc = 0.0f;
      for (int64_t k = 0; k < K; ++k) acc += a(i, k) * b(k, j);
      float& c = C[i * ldc + j];
      c = beta == 0.0f ? acc : beta * c + acc;
    }
}

}  // namespace llada::kernels
