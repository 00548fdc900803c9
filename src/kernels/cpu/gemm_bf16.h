// kernels::gemm's bf16 products on our own kernels, for operands that change from call to call
// (the training step multiplies weights, activations and gradients that are all new every step):
// AMX tiles where the CPU has them; the vdpbf16ps micro-kernel of the packed-weight GEMM on other
// AVX512-BF16 CPUs only when asked, since oneDNN's avx512_bf16 kernels are faster there (on Zen 4
// ours reach 75-100% of oneDNN's rate by shape: docs/bench/train.md).
#pragma once
#include <cstdint>

#include "kernels/matmul.h"

namespace llada::kernels::cpu {

// The engine kernels::gemm's bf16 products run on, chosen on every call (a getenv is nothing
// beside a product, and tests switch it):
//   LLADA_GEMM_BF16=onednn  None (oneDNN), for comparisons;
//   LLADA_GEMM_BF16=dot     Dot when the CPU has AVX512-BF16, else None;
//   otherwise               Amx when packed_amx_active() (kernels/packed_matmul.h: compiled in, on
//                           the CPU, granted by Linux, LLADA_AMX not 0), else None.
enum class Bf16Engine { None, Amx, Dot };
Bf16Engine bf16_engine();
const char* bf16_engine_name(Bf16Engine e);

// C[M,N] = beta*C + op(A)·op(B) with both operands rounded to bf16 (round-to-nearest-even, as
// kernels::gemm documents) and products accumulated in f32. F32 or BF16 operands in any
// transpose; M, N, K > 0; engine != None. Uses all OpenMP threads, or one inside a parallel
// region.
void bf16_gemm(Bf16Engine engine, int64_t M, int64_t N, int64_t K, const Operand& A, const Operand& B,
               float* C, int64_t ldc, float beta);

}  // namespace llada::kernels::cpu
