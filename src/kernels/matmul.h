// The one interface every matrix product in the project goes through, so a different backend
// (BLAS, CUDA) can stand in. The CPU backend is oneDNN (matmul.cpp) with a cache of primitives
// keyed by shape, strides and dtypes, so steady-state calls create nothing.
//
//   C[M,N] = beta * C + op(A)[M,K] · op(B)[K,N]        (row-major, f32 accumulation and output)
//
// An Operand is row-major storage with leading dimension `ld`. trans=false: element (i,j) of op(X)
// is X[i*ld + j]. trans=true: op(X) is the transpose of the stored matrix, i.e. element (i,j) is
// X[j*ld + i]. A weight W stored [out, in] (Hugging Face layout) used as y = x·Wᵀ is therefore
// Operand{W, dtype, in, /*trans=*/true}.
//
// Precision: with any bf16 operand, both operands are multiplied in bf16 (f32 operands are rounded
// to bf16 with round-to-nearest-even first) and products are accumulated in f32: this is the
// avx512_bf16 fast path. On a CPU with AMX (Sapphire Rapids and later) it runs on our AMX tile
// kernel, elsewhere on oneDNN's avx512_bf16 kernels (kernels/cpu/gemm_bf16.h says how to choose). f16 operands are not accepted (weights stored
// f16 are widened at load).
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace llada::kernels {

struct Operand {
  const void* data;
  DType dtype;   // F32 or BF16
  int64_t ld;
  bool trans = false;
};

void gemm(int64_t M, int64_t N, int64_t K, const Operand& A, const Operand& B, float* C, int64_t ldc,
          float beta = 0.0f);

// As gemm, but the products are bf16 even when both operands are f32 (both are rounded): the
// matrix products of mixed-precision (bf16) training.
void gemm_bf16(int64_t M, int64_t N, int64_t K, const Operand& A, const Operand& B, float* C,
               int64_t ldc, float beta = 0.0f);

// Whether bf16 products run on bf16 hardware (AMX tiles, AVX-512 bf16 dot products or oneDNN's
// AVX-512 kernels); elsewhere gemm_bf16 multiplies the bf16-rounded operands in f32, which gives
// the same numbers at the f32 speed.
bool bf16_products_native();

// Scalar reference (the spec): same contract, plain loops, f64-free f32 accumulation order.
void gemm_ref(int64_t M, int64_t N, int64_t K, const Operand& A, const Operand& B, float* C,
              int64_t ldc, float beta = 0.0f);

// Name of the active backend and its build details, for `llada info` and benchmarks.
const char* gemm_backend_name();

}  // namespace llada::kernels
