// The packed-weight GEMM of kernels/packed_matmul.h: an AVX-512 register-blocked micro-kernel in
// the BLIS style, for f32 (vfmadd231ps) and bf16 (vdpbf16ps) weights, the dispatch to the AMX tile
// kernel for bf16 (packed_gemm_amx.cpp), packing, and the work split.
//
// Layouts (P = ceil(N / 32) panels of 32 output columns, zero-padded):
//   f32 W:  panel p = [K][32] floats: W[p*32 + j][k] at (k, j)
//   bf16 W: panel p = [K2][32][2] bf16, K2 = ceil(K/2): W[p*32 + j][2kk + e] at (kk, j, e)
//   A is copied per call into row-major scratch with a padded stride (bf16 weights: rounded to
//   bf16, rows read as 32-bit (x[2kk], x[2kk+1]) pairs).
// The micro-kernel holds an mr x 32 tile of C in 2*mr zmm registers. Each k step loads two
// vectors of the panel and broadcasts mr values of A (one per row, mr sequential streams): 2*mr
// FMAs for mr+2 loads, so with mr = 12 the two FMA pipes, not the load ports, are the limit.
// Transposing A into packed blocks was tried first and cost 5-10% of the call at K = 1024 (a
// scalar gather); a plain row copy costs ~1%.
//
// Work split: tiles (panel, A block) in panel-major order, handed out in guided ranges of whole
// panels, so each thread reads its panels once and the (shared, small) packed A many times.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "core/sys.h"
#include "kernels/cpu/bf16_convert.h"
#include "kernels/cpu/packed_tiles.h"
#include "kernels/packed_matmul.h"

namespace llada::kernels {
namespace {

using cpu::aligned_buffer;
using cpu::block_start;
using cpu::kNR;
using cpu::row_blocks;
using cpu::with_mr;
#if defined(LLADA_PACKED_F32)
using cpu::store_row;
using cpu::tail_mask;
#endif
#if defined(LLADA_PACKED_AMX)
using cpu::amx_configure;
using cpu::amx_release;
using cpu::run_tiles_amx;
#endif

#if defined(LLADA_PACKED_F32)

// Writes the accumulators of an mr x 32 tile to C; only the first `nvalid` columns.
template <int MR>
inline void store_tile(const __m512 (&c0)[MR], const __m512 (&c1)[MR], float* C, int64_t ldc,
                       float beta, int nvalid) {
  const __mmask16 m0 = tail_mask(nvalid), m1 = tail_mask(std::max(nvalid - 16, 0));
  for (int i = 0; i < MR; ++i) store_row(C + i * ldc, c0[i], c1[i], m0, m1, beta);
}

template <int MR>
void micro_f32(int64_t K, const float* __restrict a, int64_t lda, const float* __restrict b,
               float* C, int64_t ldc, float beta, int nvalid, const char* pf, int64_t npf) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int64_t k = 0; k < K; ++k) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i * lda + k]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
    b += kNR;
    if ((k & 3) == 3 && npf > 0) {  // one line of the next panel every 4 k steps
      _mm_prefetch(pf, _MM_HINT_T0);
      pf += 64;
      --npf;
    }
  }
  store_tile<MR>(c0, c1, C, ldc, beta, nvalid);
}

#if defined(LLADA_PACKED_BF16)
template <int MR>
void micro_bf16(int64_t K2, const uint32_t* __restrict a, int64_t lda, const bf16_t* __restrict b,
                float* C, int64_t ldc, float beta, int nvalid, const char* pf, int64_t npf) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int64_t k = 0; k < K2; ++k) {
    const __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 32);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512bh ai = (__m512bh)_mm512_set1_epi32(int(a[i * lda + k]));
      c0[i] = _mm512_dpbf16_ps(c0[i], ai, b0);
      c1[i] = _mm512_dpbf16_ps(c1[i], ai, b1);
    }
    b += 2 * kNR;
    if ((k & 3) == 3 && npf > 0) {  // one line of the next panel every 4 k steps
      _mm_prefetch(pf, _MM_HINT_T0);
      pf += 64;
      --npf;
    }
  }
  store_tile<MR>(c0, c1, C, ldc, beta, nvalid);
}
#endif

template <int MR>
struct RunF32 {
  static void run(int64_t K, const float* a, int64_t lda, const float* b, float* C, int64_t ldc,
                  float beta, int nvalid, const char* pf, int64_t npf) {
    micro_f32<MR>(K, a, lda, b, C, ldc, beta, nvalid, pf, npf);
  }
};
#if defined(LLADA_PACKED_BF16)
template <int MR>
struct RunBF16 {
  static void run(int64_t K2, const uint32_t* a, int64_t lda, const bf16_t* b, float* C,
                  int64_t ldc, float beta, int nvalid, const char* pf, int64_t npf) {
    micro_bf16<MR>(K2, a, lda, b, C, ldc, beta, nvalid, pf, npf);
  }
};
#endif

// f32 panels of W: kn=false reads W stored [N, K] (row n at W + n*ld), kn=true W stored [K, N]
// (row k at W + k*ld, e.g. attention's V used as Vᵀ).
void pack_f32_panels(float* dst, const float* src, int64_t N, int64_t K, int64_t ld, bool kn,
                     bool parallel) {
  const int64_t panels = (N + kNR - 1) / kNR;
#pragma omp parallel for schedule(static) if (parallel && !omp_in_parallel())
  for (int64_t pi = 0; pi < panels; ++pi) {
    float* panel = dst + pi * K * kNR;
    const int64_t n0 = pi * kNR, nv = std::min<int64_t>(kNR, N - n0);
    if (kn) {
      for (int64_t k = 0; k < K; ++k) {
        std::memcpy(panel + k * kNR, src + k * ld + n0, size_t(nv) * 4);
        std::fill(panel + k * kNR + nv, panel + (k + 1) * kNR, 0.0f);
      }
    } else {
      for (int j = 0; j < kNR; ++j)
        for (int64_t k = 0; k < K; ++k) panel[k * kNR + j] = j < nv ? src[(n0 + j) * ld + k] : 0.0f;
    }
  }
}

// Row stride (in 4-byte words) of the per-call copy of A; see gemm_packed.
int64_t a_stride(int64_t Kp) { return (Kp + 15) / 16 * 16 + 16; }

// Rows [r0, r1) of A into the scratch copy: f32 as is, or rounded to bf16 pairs.
void copy_a_rows(uint32_t* ab, int64_t as, const float* A, int64_t lda, int64_t K, bool bf16,
                 int64_t r0, int64_t r1, int64_t step) {
  for (int64_t r = r0; r < r1; r += step) {
    if (bf16) {
      bf16_t* dst = reinterpret_cast<bf16_t*>(ab + r * as);
      cpu::f32_to_bf16_row(dst, A + r * lda, K);
      if (K % 2) dst[K] = 0;
    } else {
      std::memcpy(ab + r * as, A + r * lda, size_t(K) * 4);
    }
  }
}

// Tiles [t0, t1) of C (panel-major: tile ti is panel ti / blocks, A block ti % blocks).
void run_tiles(int64_t t0, int64_t t1, int64_t M, int64_t N, int64_t K, bool bf16,
               const uint32_t* ab, int64_t as, const void* packed, float* C, int64_t ldc,
               float beta) {
  const int64_t Kp = bf16 ? (K + 1) / 2 : K;
  const int64_t blocks = row_blocks(M);
  for (int64_t ti = t0; ti < t1; ++ti) {
    const int64_t pi = ti / blocks, bi = ti % blocks;
    const int64_t r0 = block_start(M, blocks, bi);
    const int mr = int(block_start(M, blocks, bi + 1) - r0);
    const int nvalid = int(std::min<int64_t>(kNR, N - pi * kNR));
    float* c = C + r0 * ldc + pi * kNR;
    // Each tile of a panel prefetches its share of the next panel from inside its k loop, so the
    // next panel's first tile finds it in cache instead of waiting on DRAM (inference streams
    // every weight from memory once per forward), with the T0 hint (T1/T2 and a burst at the
    // start of the tile did worse: docs/bench/kernels.md).
    const int64_t panel_bytes = Kp * kNR * 4, lines = panel_bytes / 64;
    const int64_t l0 = lines * bi / blocks, l1 = lines * (bi + 1) / blocks;
    const char* pf = static_cast<const char*>(packed) + (pi + 1) * panel_bytes + l0 * 64;
    const int64_t npf = (pi + 1) * kNR < N ? l1 - l0 : 0;
    if (!bf16) {
      const float* b = static_cast<const float*>(packed) + pi * Kp * kNR;
      with_mr<RunF32>(mr, K, reinterpret_cast<const float*>(ab + r0 * as), as, b, c, ldc, beta,
                      nvalid, pf, npf);
    } else {
#if defined(LLADA_PACKED_BF16)
      const bf16_t* b = static_cast<const bf16_t*>(packed) + pi * Kp * kNR * 2;
      with_mr<RunBF16>(mr, Kp, ab + r0 * as, as, b, c, ldc, beta, nvalid, pf, npf);
#endif
    }
  }
}

#endif  // LLADA_PACKED_F32

std::atomic<bool> g_amx_allowed{true};

// AMX-BF16 compiled in, on the CPU, granted by Linux, and not refused by LLADA_AMX=0.
bool amx_usable() {
#if defined(LLADA_PACKED_AMX)
  static const bool ok = [] {
    const char* env = std::getenv("LLADA_AMX");
    if (env && std::strcmp(env, "0") == 0) return false;
    return __builtin_cpu_supports("avx512bw") && enable_amx();
  }();
  return ok;
#else
  return false;
#endif
}

// The vdpbf16ps micro-kernel compiled in and on the CPU.
bool bf16_dot_usable() {
#if defined(LLADA_PACKED_BF16)
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

// LLADA_PACKED_SPLIT=static: one contiguous range per thread instead of guided ranges (for
// comparisons).
bool static_split() {
  static const bool d = [] {
    const char* e = std::getenv("LLADA_PACKED_SPLIT");
    return e && std::strcmp(e, "static") == 0;
  }();
  return d;
}

}  // namespace

bool packed_amx_active() { return g_amx_allowed.load() && amx_usable(); }
void set_packed_amx(bool allowed) { g_amx_allowed.store(allowed); }

bool packed_gemm_native(DType weight_dtype) {
#if defined(LLADA_PACKED_F32)
  if (!__builtin_cpu_supports("avx512f")) return false;
  if (weight_dtype == DType::F32) return true;
  if (weight_dtype == DType::BF16) return bf16_dot_usable() || amx_usable();
#endif
  return false;
}

PackedMatrix PackedMatrix::pack(const void* W, DType dtype, int64_t N, int64_t K, int64_t ld) {
  LLADA_CHECK(dtype == DType::F32 || dtype == DType::BF16,
              "packed gemm: weights of dtype %s cannot be packed (F32 or BF16; int8: pack_int8)", dtype_name(dtype));
  LLADA_CHECK(N > 0 && K > 0 && ld >= K, "packed gemm: bad weight shape N=%lld K=%lld ld=%lld",
              (long long)N, (long long)K, (long long)ld);
  PackedMatrix p;
  p.N_ = N;
  p.K_ = K;
  p.dtype_ = dtype;
  p.orig_ = Operand{W, dtype, ld, true};
  if (!packed_gemm_native(dtype)) return p;
#if defined(LLADA_PACKED_F32)
  const int64_t panels = (N + kNR - 1) / kNR;
  if (dtype == DType::F32) {
    p.k_steps_ = K;
    p.bytes_ = size_t(panels * K * kNR) * 4;
    p.buf_ = aligned_buffer(p.bytes_);
    pack_f32_panels(static_cast<float*>(p.buf_.get()), static_cast<const float*>(W), N, K, ld,
                    /*kn=*/false, /*parallel=*/true);
    return p;
  }
  p.amx_ = packed_amx_active();
  if (!p.amx_ && !bf16_dot_usable()) return p;  // AMX switched off and no vdpbf16ps: fallback
  // K pairs, padded with zero pairs to whole 16-pair tile steps for AMX.
  const int64_t K2 = p.amx_ ? (K + 2 * cpu::kAmxK2 - 1) / (2 * cpu::kAmxK2) * cpu::kAmxK2 : (K + 1) / 2;
  p.k_steps_ = K2;
  p.bytes_ = size_t(panels * K2 * kNR * 2) * 2;
  p.buf_ = aligned_buffer(p.bytes_);
  bf16_t* dst = static_cast<bf16_t*>(p.buf_.get());
  const bf16_t* src = static_cast<const bf16_t*>(W);
#pragma omp parallel for schedule(static)
  for (int64_t pi = 0; pi < panels; ++pi) {
    bf16_t* panel = dst + pi * K2 * kNR * 2;
    for (int j = 0; j < kNR; ++j) {
      const int64_t n = pi * kNR + j;
      for (int64_t k = 0; k < 2 * K2; ++k)
        panel[((k / 2) * kNR + j) * 2 + (k % 2)] = (n < N && k < K) ? src[n * ld + k] : bf16_t(0);
    }
  }
#endif  // LLADA_PACKED_F32 (without it nothing is native: the fallback above)
  return p;
}

PackedMatrix PackedMatrix::pack_int8(const int8_t* W, const float* scales, int64_t N, int64_t K, int64_t ld) {
  LLADA_CHECK(N > 0 && K > 0 && ld >= K, "packed gemm: bad int8 weight shape N=%lld K=%lld ld=%lld",
              (long long)N, (long long)K, (long long)ld);
  LLADA_CHECK(K <= 65536, "packed gemm: int8 weights with K=%lld inputs (at most 65536: the int32 sums must not "
              "overflow)", (long long)K);
  PackedMatrix p;
  p.N_ = N;
  p.K_ = K;
  p.dtype_ = DType::I8;
  p.k_steps_ = (K + 3) / 4;
  p.bytes_ = cpu::i8_packed_bytes(N, K) + cpu::i8_aux_bytes(N, K);
  p.buf_ = aligned_buffer(cpu::i8_packed_bytes(N, K));
  p.aux_ = aligned_buffer(cpu::i8_aux_bytes(N, K));
  cpu::pack_i8(p.buf_.get(), p.aux_.get(), W, scales, N, K, ld);
  return p;
}

PackedMatrix PackedMatrix::pack_q4(const int8_t* q, const bf16_t* scales, int64_t N, int64_t K) {
  LLADA_CHECK(N > 0 && K > 0, "packed gemm: bad q4 weight shape N=%lld K=%lld", (long long)N, (long long)K);
  PackedMatrix p;
  p.N_ = N;
  p.K_ = K;
  p.dtype_ = DType::Q4;
  p.bytes_ = cpu::q4_packed_bytes(N, K) + cpu::q4_scale_bytes(N, K);
  p.buf_ = aligned_buffer(cpu::q4_packed_bytes(N, K));
  p.aux_ = aligned_buffer(cpu::q4_scale_bytes(N, K));
  cpu::pack_q4(p.buf_.get(), p.aux_.get(), q, scales, N, K);
  return p;
}

PackedMatrix PackedMatrix::wrap_q4_panels(const uint8_t* panels, const bf16_t* scales, int64_t N, int64_t K,
                                          std::shared_ptr<const void> owner) {
  LLADA_CHECK(N > 0 && K > 0, "packed gemm: bad q4 weight shape N=%lld K=%lld", (long long)N, (long long)K);
  PackedMatrix p;
  p.N_ = N;
  p.K_ = K;
  p.dtype_ = DType::Q4;
  const size_t wb = cpu::q4_packed_bytes(N, K), sb = cpu::q4_scale_bytes(N, K);
  p.bytes_ = wb + sb;
  // In place (aliasing `owner`) when aligned for the kernel's loads, else an aligned copy.
  auto in_place = [&](const void* src, size_t bytes) {
    if (reinterpret_cast<uintptr_t>(src) % 64 == 0)
      return std::shared_ptr<void>(std::const_pointer_cast<void>(owner), const_cast<void*>(src));
    auto b = aligned_buffer(bytes);
    std::memcpy(b.get(), src, bytes);
    return b;
  };
  p.buf_ = in_place(panels, wb);
  p.aux_ = in_place(scales, sb);
  return p;
}

std::vector<int64_t> PackedMatrix::q4_panel_shape(int64_t N, int64_t K) { return {(N + kNR - 1) / kNR, (K + 31) / 32, 8, 64}; }
std::vector<int64_t> PackedMatrix::q4_scale_shape(int64_t N, int64_t K) { return {(N + kNR - 1) / kNR, (K + 31) / 32, kNR}; }

std::vector<int64_t> PackedMatrix::int8_panel_shape(int64_t N, int64_t K) {
  return {(N + kNR - 1) / kNR, (K + 3) / 4, kNR, 4};
}

PackedMatrix PackedMatrix::wrap_int8_panels(const int8_t* panels, const int32_t* colsum, const float* scales,
                                            int64_t N, int64_t K, std::shared_ptr<const void> owner) {
  LLADA_CHECK(N > 0 && K > 0 && K <= 65536, "packed gemm: bad int8 weight shape N=%lld K=%lld",
              (long long)N, (long long)K);
  PackedMatrix p;
  p.N_ = N;
  p.K_ = K;
  p.dtype_ = DType::I8;
  p.k_steps_ = (K + 3) / 4;
  const size_t wb = cpu::i8_packed_bytes(N, K);
  p.bytes_ = wb + cpu::i8_aux_bytes(N, K);
  if (reinterpret_cast<uintptr_t>(panels) % 64 == 0) {
    // Aliasing: shares ownership of `owner`, points at the panels; nothing is copied.
    p.buf_ = std::shared_ptr<void>(std::const_pointer_cast<void>(owner), const_cast<int8_t*>(panels));
  } else {
    p.buf_ = aligned_buffer(wb);  // the kernel's aligned loads need 64 bytes: a file that lacks them
    std::memcpy(p.buf_.get(), panels, wb);
  }
  p.aux_ = aligned_buffer(cpu::i8_aux_bytes(N, K));
  cpu::i8_aux_fill(p.aux_.get(), colsum, scales, N, K);
  return p;
}

void gemm_packed(int64_t M, const float* A, int64_t lda, const PackedMatrix& W, float* C,
                 int64_t ldc, float beta) {
  const PackedProduct one{&W, C, ldc, beta};
  gemm_packed_multi(M, A, lda, &one, 1);
}

void gemm_packed_multi(int64_t M, const float* A, int64_t lda, const PackedProduct* outs,
                       int n_outs) {
  LLADA_CHECK(n_outs >= 1 && n_outs <= kMaxPackedOutputs, "gemm_packed: %d outputs (1..%d)",
              n_outs, kMaxPackedOutputs);
  const PackedMatrix& W0 = *outs[0].W;
  for (int o = 0; o < n_outs; ++o) {
    const PackedMatrix& W = *outs[o].W;
    LLADA_CHECK(!W.empty(), "gemm_packed: empty packed matrix");
    LLADA_CHECK(M >= 0 && lda >= W.K_ && outs[o].ldc >= W.N_,
                "gemm_packed: bad shape M=%lld lda=%lld ldc=%lld for a %lldx%lld weight",
                (long long)M, (long long)lda, (long long)outs[o].ldc, (long long)W.N_,
                (long long)W.K_);
    LLADA_CHECK(W.K_ == W0.K_ && W.dtype_ == W0.dtype_ && W.is_fallback() == W0.is_fallback() &&
                    W.amx_ == W0.amx_,
                "gemm_packed: products sharing an input need the same K, dtype and kernel");
  }
  if (M == 0) return;
  if (W0.dtype_ == DType::I8) {
    cpu::gemm_i8(M, A, lda, outs, n_outs);
    return;
  }
  if (W0.dtype_ == DType::Q4) {
    cpu::gemm_q4(M, A, lda, outs, n_outs);
    return;
  }
  if (W0.is_fallback()) {
    for (int o = 0; o < n_outs; ++o)
      gemm(M, outs[o].W->N_, W0.K_, Operand{A, DType::F32, lda, false}, outs[o].W->orig_,
           outs[o].C, outs[o].ldc, outs[o].beta);
    return;
  }
#if defined(LLADA_PACKED_F32)
  const int64_t K = W0.K_;
  const bool bf16 = W0.dtype_ == DType::BF16, amx = W0.amx_;
  const int64_t Kp = W0.k_steps_;  // k steps of the micro-kernel
#if defined(LLADA_PACKED_AMX)
  const int64_t blocks = amx ? cpu::amx_row_blocks(M) : row_blocks(M);
#else
  const int64_t blocks = row_blocks(M);
#endif
  // A is copied once per call (however many products share it) into scratch rows of `as` 4-byte
  // words: f32 as is, bf16 rounded (RNE) with an even row length (a zero pads odd K) so the
  // micro-kernel broadcasts (x[k], x[k+1]) pairs as 32-bit words. The copy is cheap and buys a row stride that is not a multiple of 4 KB: 12 rows read in place at lda = 1024
  // floats all fall into the same L1 sets and evict each other (docs/bench/kernels.md). AMX reads 16-row tiles: the copy has M rounded up to 16
  // rows and zero pairs up to Kp (a zero times a padded weight must not meet an uninitialised NaN).
  const int64_t as = a_stride(Kp), rows = amx ? (M + 15) / 16 * 16 : M;
  uint32_t* ab = static_cast<uint32_t*>(cpu::call_scratch(size_t(rows * as) * 4));
  int64_t first_panel[kMaxPackedOutputs + 1] = {0};
  for (int o = 0; o < n_outs; ++o)
    first_panel[o + 1] = first_panel[o] + (outs[o].W->N_ + kNR - 1) / kNR;
  const int64_t panels = first_panel[n_outs];
  const int nthr = omp_in_parallel()
                       ? 1
                       : int(std::max<int64_t>(
                             1, std::min<int64_t>(omp_get_max_threads(), panels * blocks)));

  std::atomic<int64_t> next{0};
#pragma omp parallel num_threads(nthr)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    copy_a_rows(ab, as, A, lda, K, bf16, t, M, nt);
    if (amx) {
      for (int64_t r = t; r < rows; r += nt) {
        uint32_t* row = ab + r * as;
        const int64_t done = r < M ? (K + 1) / 2 : 0;  // whole pairs already written
        std::memset(row + done, 0, size_t(Kp - done) * 4);
      }
    }
#pragma omp barrier
    // Tiles in panel-major order over all outputs, shared out in ranges of whole panels:
    // consecutive tiles share a panel, which stays in L2 while the thread's A blocks stream past
    // it. Measured and rejected (AMD machine): slicing K so that a panel slice stays in L1
    // (BLIS-style; 5-20% slower at every slice size tried, 128-384). How the ranges are handed
    // out is measured below.
    const int64_t tiles = panels * blocks;
    auto run_range = [&](int64_t t0, int64_t t1) {
      for (int o = 0; o < n_outs; ++o) {
        const int64_t lo = std::max(t0, first_panel[o] * blocks),
                      hi = std::min(t1, first_panel[o + 1] * blocks);
        if (lo >= hi) continue;
        const int64_t f = first_panel[o] * blocks;
        const PackedMatrix& W = *outs[o].W;
#if defined(LLADA_PACKED_AMX)
        if (amx) {
          run_tiles_amx(lo - f, hi - f, M, W.N_, Kp, ab, as, W.buf_.get(), outs[o].C, outs[o].ldc,
                        outs[o].beta);
          continue;
        }
#endif
        run_tiles(lo - f, hi - f, M, W.N_, K, bf16, ab, as, W.buf_.get(), outs[o].C, outs[o].ldc,
                  outs[o].beta);
      }
    };
#if defined(LLADA_PACKED_AMX)
    if (amx) amx_configure();
#endif
    if (nt == 1 || static_split()) {
      run_range(tiles * t / nt, tiles * (t + 1) / nt);
    } else {
      // Guided ranges (cpu::run_guided; the splits are compared in docs/bench/kernels.md).
      cpu::run_guided(tiles, blocks, nt, next, run_range);
    }
#if defined(LLADA_PACKED_AMX)
    if (amx) amx_release();
#endif
  }
#endif
}

int64_t packed_f32_floats(int64_t N, int64_t K) { return (N + kNR - 1) / kNR * kNR * K; }

void pack_f32(float* dst, const float* W, int64_t N, int64_t K, int64_t ld, bool kn) {
#if defined(LLADA_PACKED_F32)
  pack_f32_panels(dst, W, N, K, ld, kn, /*parallel=*/false);
#else
  LLADA_CHECK(false, "pack_f32: built without AVX-512 (check packed_gemm_native first)");
#endif
}

void gemm_packed_f32_serial(int64_t M, const float* A, int64_t lda, const float* packed, int64_t N,
                            int64_t K, float* C, int64_t ldc, float beta) {
#if defined(LLADA_PACKED_F32)
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  const int64_t as = a_stride(K);
  uint32_t* ab = static_cast<uint32_t*>(cpu::call_scratch(size_t(M * as) * 4));
  copy_a_rows(ab, as, A, lda, K, /*bf16=*/false, 0, M, 1);
  const int64_t tiles = (N + kNR - 1) / kNR * row_blocks(M);
  run_tiles(0, tiles, M, N, K, /*bf16=*/false, ab, as, packed, C, ldc, beta);
#else
  LLADA_CHECK(false, "gemm_packed_f32_serial: built without AVX-512");
#endif
}

namespace cpu {

bool dot_bf16_usable() { return bf16_dot_usable(); }

int64_t dot_row_blocks(int64_t M) { return row_blocks(M); }

std::shared_ptr<void> aligned_buffer(size_t bytes) {
  void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  LLADA_CHECK(p != nullptr, "packed gemm: out of memory allocating %zu bytes", bytes);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

void* call_scratch(size_t bytes) {
  thread_local std::shared_ptr<void> buf;
  thread_local size_t cap = 0;
  if (bytes > cap) {
    buf = aligned_buffer(bytes);
    cap = bytes;
  }
  return buf.get();
}

void run_tiles_dot(int64_t t0, int64_t t1, const DotTiles& g, const uint32_t* ab, const void* panels,
                   float* C, float beta) {
#if defined(LLADA_PACKED_BF16)
  const int64_t blocks = row_blocks(g.M), panel_count = (g.N + kNR - 1) / kNR;
  const uint32_t* words = static_cast<const uint32_t*>(panels);
  for (int64_t ti = t0; ti < t1; ++ti) {
    const int64_t pi = g.block_major ? ti % panel_count : ti / blocks;
    const int64_t bi = g.block_major ? ti / panel_count : ti % blocks;
    const int64_t r0 = block_start(g.M, blocks, bi);
    const int mr = int(block_start(g.M, blocks, bi + 1) - r0);
    const int nvalid = int(std::min<int64_t>(kNR, g.N - pi * kNR));
    const bf16_t* b = reinterpret_cast<const bf16_t*>(words + (pi * g.K2 + g.k0) * kNR);
    with_mr<RunBF16>(mr, g.kc, ab + r0 * g.as + g.k0, g.as, b, C + r0 * g.ldc + pi * kNR, g.ldc, beta,
                     nvalid, static_cast<const char*>(nullptr), int64_t(0));
  }
#else
  (void)t0, (void)t1, (void)g, (void)ab, (void)panels, (void)C, (void)beta;
  LLADA_CHECK(false, "run_tiles_dot: built without the vdpbf16ps kernel (check dot_bf16_usable first)");
#endif
}

}  // namespace cpu

}  // namespace llada::kernels
