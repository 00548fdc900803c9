// Products with a weight matrix packed once: y[M,N] = beta*y + x[M,K] · Wᵀ, W stored [N, K]
// (the Hugging Face [out, in] layout). W is f32, bf16 or int8 with per-row scales.
//
// Why: inference multiplies the same weights thousands of times by a small activation matrix
// (M = 16..512 rows). For such shapes a general GEMM spends much of its time re-packing W and,
// in oneDNN 2.6, JIT-compiling a kernel for every new M (the samplers ask for a different number
// of logit rows at almost every step). Packing W once into the layout our AVX-512 micro-kernel
// streams (panels of 32 output columns, K-major; bf16 as K-pairs for vdpbf16ps) leaves only the
// small activation to pack per call, and there is no per-shape set-up at all.
//
// Precision follows kernels::gemm: f32 weights are multiplied in f32; bf16 weights are multiplied
// by x rounded to bf16 (round-to-nearest-even) with f32 accumulation (the avx512_bf16 path).
// On a CPU without AVX-512 (or without avx512_bf16 for bf16 weights) the packed matrix keeps a
// reference to the original weights and gemm_packed calls kernels::gemm instead, so callers never
// need to check.
//
// bf16 weights on a CPU with AMX (Sapphire Rapids and later): the same panels, with K padded to
// a multiple of 32, are multiplied by AMX tile instructions (tdpbf16ps: the same bf16 products
// with f32 accumulation, in a different order), 16x16 tiles of C in a 32x32 register block.
// On such a CPU vdpbf16ps ran slower than f32 FMAs and the tiles several times faster than either
// (docs/bench/kernels.md, "Measurements behind the kernel code").
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"
#include "kernels/matmul.h"

namespace llada::kernels {

class PackedMatrix;
struct PackedProduct;
void gemm_packed_multi(int64_t M, const float* A, int64_t lda, const PackedProduct* outs,
                       int n_outs);

class PackedMatrix {
 public:
  PackedMatrix() = default;
  // W: N rows of K elements, row stride ld, F32 or BF16. The original must outlive the packed
  // copy only when the fallback is in use (no AVX-512); packing copies everything otherwise.
  static PackedMatrix pack(const void* W, DType dtype, int64_t N, int64_t K, int64_t ld);
  // int8 weights with one F32 scale per row (output channel), model/quantize.h's scheme. The
  // activations are quantized per row at run time (kernels/cpu/packed_gemm_i8.cpp): AVX-512 VNNI
  // where the CPU has it, the same arithmetic in scalar code elsewhere. Everything is copied.
  static PackedMatrix pack_int8(const int8_t* W, const float* scales, int64_t N, int64_t K, int64_t ld);
  // int8 weights already in the kernels' layout (a quantized directory stores them so, model/quantize.h):
  // `panels` of int8_panel_shape(N, K), the column sums of the int8 rows and the scales, [N] each.
  // The panels are used in place (kept alive by `owner`, e.g. the file mapping) when 64-byte aligned
  // and copied otherwise; the sums and scales (8 bytes per row) are copied.
  static PackedMatrix wrap_int8_panels(const int8_t* panels, const int32_t* colsum, const float* scales,
                                       int64_t N, int64_t K, std::shared_ptr<const void> owner);
  // The shape of the int8 panels of an N x K matrix: {ceil(N/32), ceil(K/4), 32, 4}, zero-padded
  // (W[32p + j][4q + e] at [p][q][j][e]).
  static std::vector<int64_t> int8_panel_shape(int64_t N, int64_t K);
  // 4-bit weights (kernels/cpu/packed_gemm_q4.cpp): q [N, K] row-major in [-7, 7] with a BF16 scale
  // per row and group of 32 inputs, `scales` [N, ceil(K/32)]. Everything is copied.
  static PackedMatrix pack_q4(const int8_t* q, const bf16_t* scales, int64_t N, int64_t K);
  // 4-bit weights already in the kernels' layout (q4_panel_shape U8 and q4_scale_shape BF16, as a
  // q4 directory stores them), used in place when 64-byte aligned (copied otherwise).
  static PackedMatrix wrap_q4_panels(const uint8_t* panels, const bf16_t* scales, int64_t N, int64_t K,
                                     std::shared_ptr<const void> owner);
  // {ceil(N/32), ceil(K/32), 8, 64} bytes and {ceil(N/32), ceil(K/32), 32} scales.
  static std::vector<int64_t> q4_panel_shape(int64_t N, int64_t K);
  static std::vector<int64_t> q4_scale_shape(int64_t N, int64_t K);

  bool empty() const { return N_ == 0; }
  int64_t rows() const { return N_; }  // N (outputs)
  int64_t cols() const { return K_; }  // K (inputs)
  DType dtype() const { return dtype_; }
  size_t bytes() const { return bytes_; }  // memory held by the packed copy (0 in fallback)
  bool is_fallback() const { return buf_ == nullptr; }
  bool uses_amx() const { return amx_; }  // bf16 panels multiplied by AMX tiles
  const void* packed_data() const { return buf_.get(); }  // the kernels' layout (null in fallback)
  // int8: the int32 column sums then the f32 scales, ceil(N/32)*32 of each (zero past N);
  // q4: the BF16 scales in q4_scale_shape.
  const void* aux_data() const { return aux_.get(); }

 private:
  friend void gemm_packed_multi(int64_t, const float*, int64_t, const PackedProduct*, int);
  int64_t N_ = 0, K_ = 0;
  DType dtype_ = DType::F32;
  size_t bytes_ = 0;
  int64_t k_steps_ = 0;  // micro-kernel k steps: K (f32), K pairs (bf16), padded to 16 pairs (AMX)
  bool amx_ = false;
  std::shared_ptr<void> buf_;  // 64-byte aligned panels; null = fallback to gemm on `orig_`
  std::shared_ptr<void> aux_;  // per-column data beside the panels (int8: sums and scales; q4: scales)
  Operand orig_{nullptr, DType::F32, 0, true};
};

// The prepared-weights handle of a model for inference: packed matrices found by the storage they
// were packed from (an address that stays put when the tensor's owner moves). Whoever packs decides
// which matrices; the forward asks each weight for its packed twin.
class PackedSet {
 public:
  void add(const void* source, PackedMatrix p) { by_source_[source] = std::move(p); }
  bool empty() const { return by_source_.empty(); }
  const PackedMatrix* find(const void* source) const {
    const auto it = by_source_.find(source);
    return it == by_source_.end() ? nullptr : &it->second;
  }

 private:
  std::unordered_map<const void*, PackedMatrix> by_source_;
};

// C[M, N] = beta * C + A[M, K] · Wᵀ with A row-major (leading dimension lda), C leading
// dimension ldc. Uses all OpenMP threads, or one when called inside a parallel region.
void gemm_packed(int64_t M, const float* A, int64_t lda, const PackedMatrix& W, float* C,
                 int64_t ldc, float beta = 0.0f);

// Several products of one input (a layer's Q, K and V; gate and up): C_o = beta_o*C_o + A·W_oᵀ.
// A is copied or rounded once and all tiles share one parallel region, which saves a copy and a
// fork/join per extra product. Every W_o needs the same K and dtype.
struct PackedProduct {
  const PackedMatrix* W;
  float* C;
  int64_t ldc;
  float beta = 0.0f;
};
constexpr int kMaxPackedOutputs = 4;

// True when the packed AVX-512 kernels are compiled in and the CPU runs them.
bool packed_gemm_native(DType weight_dtype);

// True when bf16 weights packed from now on are multiplied with AMX: the CPU has AMX-BF16, Linux
// granted the tile state (core/sys.h), it is not switched off here, and the environment variable
// LLADA_AMX is not 0. Switching affects matrices packed afterwards only.
bool packed_amx_active();
void set_packed_amx(bool allowed);

// True when int8 products run on the AVX-512 VNNI kernel (else the AVX2 kernel or the scalar code,
// with the same arithmetic); set_packed_i8_vnni(false) forces the scalar code (for tests and
// comparisons). packed_i8_kernel() names the one in use: "avx512-vnni", "avx2" or "scalar".
bool packed_i8_vnni_active();
void set_packed_i8_vnni(bool allowed);
const char* packed_i8_kernel();

// Lower level, for kernels that pack a small f32 operand per call into their own memory and
// multiply on the calling thread (attention packs each head's keys and values). Only when
// packed_gemm_native(DType::F32).
// Floats of the packed copy of an N x K matrix.
int64_t packed_f32_floats(int64_t N, int64_t K);
// kn=false: W stored [N, K] (row n at W + n*ld); kn=true: W stored [K, N] (row k at W + k*ld).
void pack_f32(float* dst, const float* W, int64_t N, int64_t K, int64_t ld, bool kn);
// C[M, N] = beta*C + A[M, K] · Wᵀ on the calling thread, W as packed by pack_f32.
void gemm_packed_f32_serial(int64_t M, const float* A, int64_t lda, const float* packed, int64_t N,
                            int64_t K, float* C, int64_t ldc, float beta = 0.0f);

}  // namespace llada::kernels
