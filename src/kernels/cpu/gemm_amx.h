// kernels::gemm's bf16 products on AMX tiles, for operands that change from call to call (the
// training step multiplies weights, activations and gradients that are all new every step).
#pragma once
#include <cstdint>

#include "kernels/matmul.h"

namespace llada::kernels::cpu {

// True when gemm_amx can run: the AMX kernel is compiled in and packed_amx_active()
// (kernels/packed_matmul.h: the CPU has AMX-BF16, Linux granted it, LLADA_AMX is not 0).
bool gemm_amx_usable();

// C[M,N] = beta*C + op(A)·op(B) with both operands rounded to bf16 (round-to-nearest-even, as
// kernels::gemm documents) and products accumulated in f32 on AMX tiles. F32 or BF16 operands in
// any transpose; M, N, K > 0. Uses all OpenMP threads, or one inside a parallel region.
void gemm_amx(int64_t M, int64_t N, int64_t K, const Operand& A, const Operand& B, float* C,
              int64_t ldc, float beta);

}  // namespace llada::kernels::cpu
