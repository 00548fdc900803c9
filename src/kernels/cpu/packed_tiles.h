// Internal to the packed GEMM (packed_gemm.cpp, packed_gemm_amx.cpp): the panel width, the row
// store both micro-kernels end with, and the AMX tile kernel's entry points.
#pragma once
#include <algorithm>
#include <atomic>
#include <memory>
#include <cstddef>
#include <cstdint>

#include "kernels/packed_matmul.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#define LLADA_PACKED_F32 1
#if defined(__AVX512BF16__)
#define LLADA_PACKED_BF16 1
#endif
#if defined(__x86_64__) && defined(__GNUC__)
// The AMX kernels are compiled for any x86-64 target (function-level target attributes) and
// chosen at run time, so one binary serves CPUs with and without AMX.
#define LLADA_PACKED_AMX 1
#endif
#endif

#if defined(LLADA_PACKED_AMX)
#define LLADA_AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl")))
#endif

namespace llada::kernels::cpu {

constexpr int kNR = 32;  // output columns per panel (two zmm vectors)
constexpr int kMR = 12;  // rows of A per micro-tile of the AVX-512 kernels (f32, bf16, int8)

// Blocks of rows of A: as few as tiles of kMR allow, and as even as possible (160 rows are 8
// blocks of 11 and 6 of 12, not 13 of 12 and a slow one of 4).
inline int64_t row_blocks(int64_t M) { return (M + kMR - 1) / kMR; }
inline int64_t block_start(int64_t M, int64_t blocks, int64_t bi) { return M * bi / blocks; }

// Dispatch on the rows of the tile (the last block of A may be shorter than kMR): F<mr>::run.
template <template <int> class F, typename... Args>
void with_mr(int mr, Args... args) {
  switch (mr) {
#define LLADA_CASE(n) \
  case n:             \
    return F<n>::run(args...);
    LLADA_CASE(1) LLADA_CASE(2) LLADA_CASE(3) LLADA_CASE(4) LLADA_CASE(5) LLADA_CASE(6)
    LLADA_CASE(7) LLADA_CASE(8) LLADA_CASE(9) LLADA_CASE(10) LLADA_CASE(11) LLADA_CASE(12)
#undef LLADA_CASE
  }
  static_assert(kMR == 12, "with_mr lists every tile height up to kMR");
}

// 64-byte aligned memory owned by a shared_ptr (a packed matrix's panels).
std::shared_ptr<void> aligned_buffer(size_t bytes);
// Grow-only, 64-byte aligned scratch for the per-call copy of the activations, one per calling
// thread (concurrent callers do not share it; steady state allocates nothing).
void* call_scratch(size_t bytes);

// Hands tiles [0, tiles) (panel-major, `blocks` tiles per panel) to the calling thread of an
// OpenMP region of nt threads, in guided ranges of whole panels taken from the shared counter
// `next`: each grab takes 1/(2*nt) of what is left. A thread slowed by the machine (another
// process, a busy neighbour on a shared host) takes less instead of leaving the other waiting at
// the barrier, and the first, large grabs keep long runs of consecutive panels, in which each
// panel's tiles prefetch the next one for the same core (equal small chunks, also measured, often
// left the next panel to the other core). run_range(t0, t1) multiplies tiles [t0, t1).
template <class RunRange>
void run_guided(int64_t tiles, int64_t blocks, int nt, std::atomic<int64_t>& next,
                RunRange&& run_range) {
  for (int64_t cur = next.load();;) {
    const int64_t rem = tiles - cur;
    if (rem <= 0) break;
    const int64_t size = std::max<int64_t>(1, rem / blocks / (2 * nt)) * blocks;
    if (!next.compare_exchange_weak(cur, cur + size)) continue;
    run_range(cur, std::min(tiles, cur + size));
    cur = next.load();
  }
}

#if defined(LLADA_PACKED_F32)
inline __mmask16 tail_mask(int n) { return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1); }

// One row of 32 results into C: C = r (beta 0), C += r (beta 1), or C = beta*C + r; only the
// columns in the masks m0 (0..15) and m1 (16..31).
inline void store_row(float* row, __m512 r0, __m512 r1, __mmask16 m0, __mmask16 m1, float beta) {
  if (beta != 0.0f) {
    const __m512 o0 = _mm512_maskz_loadu_ps(m0, row), o1 = _mm512_maskz_loadu_ps(m1, row + 16);
    const __m512 vb = _mm512_set1_ps(beta);
    r0 = beta == 1.0f ? _mm512_add_ps(r0, o0) : _mm512_fmadd_ps(vb, o0, r0);
    r1 = beta == 1.0f ? _mm512_add_ps(r1, o1) : _mm512_fmadd_ps(vb, o1, r1);
  }
  _mm512_mask_storeu_ps(row, m0, r0);
  _mm512_mask_storeu_ps(row + 16, m1, r1);
}
#endif

#if defined(LLADA_PACKED_AMX)
// Rows of A per AMX block (two 16-row tiles) and K pairs per tile step (bf16 panels for AMX are
// padded to a multiple of this).
constexpr int kAmxRows = 32;
constexpr int kAmxK2 = 16;
inline int64_t amx_row_blocks(int64_t M) { return (M + kAmxRows - 1) / kAmxRows; }

// Tile registers of the calling thread: configured for the kernel, released after.
void amx_configure();
void amx_release();

// Tiles [t0, t1) of C = beta*C + A·Wᵀ, panel-major (tile ti: panel ti / blocks, rows
// [32*(ti % blocks), +32)), blocks = ceil(M / 32). A: the per-call bf16 copy, rows of `as`
// 32-bit pairs, rounded up to 16 rows and zero-padded to K2p pairs; packed: the panels.
void run_tiles_amx(int64_t t0, int64_t t1, int64_t M, int64_t N, int64_t K2p, const uint32_t* ab,
                   int64_t as, const void* packed, float* C, int64_t ldc, float beta);
#endif

// The vdpbf16ps micro-kernel (packed_gemm.cpp) on the same operands as run_tiles_amx: true when it
// is compiled in and the CPU has AVX512-BF16.
bool dot_bf16_usable();
// Row blocks of its tiles (up to 12 rows each, as even as possible).
int64_t dot_row_blocks(int64_t M);
// A product on the vdpbf16ps micro-kernel, over pairs [k0, k0 + kc) of K2: A as bf16 pairs in rows
// of `as` words, B as panels of K2 x 32 words. Tiles (panel, row block) in panel-major order, or
// block-major (all panels of one row block, then the next) when A is the larger operand, so the
// operand that is read again and again is the small one, from cache.
struct DotTiles {
  int64_t M, N, K2, k0, kc, as, ldc;
  bool block_major;
  int64_t tiles() const { return dot_row_blocks(M) * ((N + 31) / 32); }
  int64_t group() const { return block_major ? (N + 31) / 32 : dot_row_blocks(M); }
};
void run_tiles_dot(int64_t t0, int64_t t1, const DotTiles& g, const uint32_t* ab, const void* panels,
                   float* C, float beta);

// int8 weights (packed_gemm_i8.cpp): bytes of the panels of an N x K matrix and of their aux
// buffer (column sums and scales), packing, filling the aux buffer from stored sums and scales, and
// the product.
size_t i8_packed_bytes(int64_t N, int64_t K);
size_t i8_aux_bytes(int64_t N, int64_t K);
void pack_i8(void* dst, void* aux, const int8_t* W, const float* scales, int64_t N, int64_t K, int64_t ld);
void i8_aux_fill(void* aux, const int32_t* colsum, const float* scales, int64_t N, int64_t K);
void gemm_i8(int64_t M, const float* A, int64_t lda, const PackedProduct* outs, int n_outs);
// 4-bit weights (packed_gemm_q4.cpp): bytes of the panels and of the scales, packing, the product.
size_t q4_packed_bytes(int64_t N, int64_t K);
size_t q4_scale_bytes(int64_t N, int64_t K);
void pack_q4(void* dst, void* scales_dst, const int8_t* q, const bf16_t* scales, int64_t N, int64_t K);
void gemm_q4(int64_t M, const float* A, int64_t lda, const PackedProduct* outs, int n_outs);
bool i8_vnni_usable();
const char* i8_kernel_name();
bool i8_avx2_usable();  // the AVX2 integer kernels (no VNNI here, not switched off)

}  // namespace llada::kernels::cpu
