// The general bf16 product on our kernels (gemm_bf16.h). Both operands are packed on every call, in
// the layouts of the packed-weight kernel (packed_gemm.cpp, packed_gemm_amx.cpp): op(B) into
// panels of 32 columns x K pairs, op(A) into rows of bf16 pairs (16-row tiles); then
// run_tiles_amx or the vdpbf16ps micro-kernel (run_tiles_dot) multiplies: both read the same
// packed operands. Packing is O(MK + KN) memory work against the product's O(MNK) arithmetic, and the
// packed copies are what the tiles read fastest, so nothing is gained by keeping either operand
// packed between calls (training changes all of them every step).
//
// Rounding to bf16 happens while packing, with integer round-to-nearest-even that keeps NaNs
// quiet, bit-identical to f32_to_bf16 (core/dtype.h) and to PyTorch's float -> bfloat16.
#include "kernels/cpu/gemm_bf16.h"

#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "kernels/cpu/packed_tiles.h"
#include "kernels/packed_matmul.h"

// GCC 12 reports the intrinsics' own _mm512_undefined_* placeholders as maybe-uninitialised when
// they are inlined into functions with a target attribute (a false positive of the header).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace llada::kernels::cpu {

#if defined(LLADA_PACKED_AMX)
namespace {

constexpr int64_t kDotSlice = 256;                // K pairs per slice of the vdpbf16ps path
constexpr int64_t kDotPanelsInL2 = 768 * 1024;    // bytes of panel slices block-major keeps in L2

// Grow-only 64-byte aligned scratch of the calling thread (steady state allocates nothing).
struct AlignedScratch {
  std::unique_ptr<void, decltype(&std::free)> buf{nullptr, &std::free};
  size_t cap = 0;
  void* get(size_t bytes) {
    if (bytes > cap) {
      buf.reset(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
      LLADA_CHECK(buf != nullptr, "gemm: out of memory allocating %zu bytes of AMX scratch", bytes);
      cap = bytes;
    }
    return buf.get();
  }
};

// 16 floats to bf16 bit patterns in the low halves of 32-bit lanes (upper halves zero).
LLADA_AMX_TARGET inline __m512i round_lo(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_srli_epi32(
      _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(
      _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_mov_epi32(
      r, nan, _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40)));
}

// Up to 16 consecutive elements (mask m) of an f32 or bf16 operand as bf16 in low halves.
LLADA_AMX_TARGET inline __m512i load_lo(const void* p, bool bf16, __mmask16 m) {
  if (bf16) return _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
  return round_lo(_mm512_maskz_loadu_ps(m, p));
}

// Up to 32 consecutive elements as 16 bf16 pairs (element 2i low, 2i+1 high), zeros past n.
LLADA_AMX_TARGET inline __m512i load_pairs(const char* p, bool bf16, int64_t n) {
  const int64_t es = bf16 ? 2 : 4;
  const __m512i lo = load_lo(p, bf16, tail_mask(int(std::clamp<int64_t>(n, 0, 16))));
  const __m512i hi = load_lo(p + 16 * es, bf16, tail_mask(int(std::clamp<int64_t>(n - 16, 0, 16))));
  // Narrow both to 16-bit lanes in order: 32 consecutive bf16 = 16 pairs.
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi32_epi16(lo)),
                            _mm512_cvtepi32_epi16(hi), 1);
}

// Transposes a 16 x 16 matrix of 32-bit words held as 16 row vectors, in place: unpacks of 32-
// and 64-bit elements transpose each 4 x 4 block inside a 128-bit lane, then two rounds of lane
// shuffles transpose the 4 x 4 matrix of lanes (64 instructions, against 256 scattered stores).
LLADA_AMX_TARGET inline void transpose16(__m512i (&r)[16]) {
  __m512i a[16], b[16];
  for (int i = 0; i < 8; ++i) {
    a[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    a[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 4; ++g) {  // b[4g+e], lane L: column 4L+e of rows 4g..4g+3
    b[4 * g + 0] = _mm512_unpacklo_epi64(a[4 * g], a[4 * g + 2]);
    b[4 * g + 1] = _mm512_unpackhi_epi64(a[4 * g], a[4 * g + 2]);
    b[4 * g + 2] = _mm512_unpacklo_epi64(a[4 * g + 1], a[4 * g + 3]);
    b[4 * g + 3] = _mm512_unpackhi_epi64(a[4 * g + 1], a[4 * g + 3]);
  }
  for (int e = 0; e < 4; ++e) {  // row 4L+e of the result, lane g = lane L of b[4g+e]
    const __m512i c0 = _mm512_shuffle_i32x4(b[e], b[4 + e], 0x44);
    const __m512i c1 = _mm512_shuffle_i32x4(b[e], b[4 + e], 0xEE);
    const __m512i c2 = _mm512_shuffle_i32x4(b[8 + e], b[12 + e], 0x44);
    const __m512i c3 = _mm512_shuffle_i32x4(b[8 + e], b[12 + e], 0xEE);
    r[e] = _mm512_shuffle_i32x4(c0, c2, 0x88);
    r[4 + e] = _mm512_shuffle_i32x4(c0, c2, 0xDD);
    r[8 + e] = _mm512_shuffle_i32x4(c1, c3, 0x88);
    r[12 + e] = _mm512_shuffle_i32x4(c1, c3, 0xDD);
  }
}

inline __mmask16 mask_of(int64_t n) { return tail_mask(int(std::clamp<int64_t>(n, 0, 16))); }

struct View {  // an operand as bytes, for address arithmetic on either dtype
  const char* p;
  int64_t es, ld;
  bool bf16;
  explicit View(const Operand& x)
      : p(static_cast<const char*>(x.data)), es(x.dtype == DType::BF16 ? 2 : 4), ld(x.ld),
        bf16(x.dtype == DType::BF16) {}
  const char* at(int64_t row, int64_t col) const { return p + (row * ld + col) * es; }
};

// Panel pi of op(B) [K, N]: K2p pairs x 32 columns of 32-bit words (pair (k, k+1) of column n).
LLADA_AMX_TARGET void pack_b_panel(uint32_t* panel, const Operand& B, int64_t pi, int64_t N,
                                   int64_t K, int64_t K2p) {
  const View b(B);
  const int64_t n0 = pi * kNR, nv = std::min<int64_t>(kNR, N - n0);
  if (!B.trans) {  // stored [K, N]: rows k and k+1 give 16 columns' pairs per vector
    for (int64_t kk = 0; kk < K2p; ++kk) {
      const int64_t k0 = 2 * kk, k1 = k0 + 1;
      for (int h = 0; h < 2; ++h) {
        const __mmask16 m = mask_of(nv - 16 * h);
        const __m512i lo = k0 < K ? load_lo(b.at(k0, n0 + 16 * h), b.bf16, m) : _mm512_setzero_si512();
        const __m512i hi = k1 < K ? load_lo(b.at(k1, n0 + 16 * h), b.bf16, m) : _mm512_setzero_si512();
        _mm512_store_si512(panel + kk * kNR + 16 * h, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
      }
    }
    return;
  }
  // Stored [N, K]: a column of op(B) is a stored row, whose consecutive elements are its pairs;
  // 16 columns x 16 pairs are read as rows and transposed into 16 panel rows.
  __m512i r[16];
  for (int h = 0; h < 2; ++h)
    for (int64_t kk = 0; kk < K2p; kk += 16) {
      for (int i = 0; i < 16; ++i) {
        const int64_t j = 16 * h + i;
        r[i] = j < nv ? load_pairs(b.at(n0 + j, 2 * kk), b.bf16, K - 2 * kk) : _mm512_setzero_si512();
      }
      transpose16(r);
      for (int i = 0; i < 16; ++i) _mm512_store_si512(panel + (kk + i) * kNR + 16 * h, r[i]);
    }
}

// Rows [r0, r1) of op(A) [M, K] (a multiple of 16, r1 may pass M: zero rows) into ab, rows of
// `as` words holding K2p pairs.
LLADA_AMX_TARGET void pack_a_rows(uint32_t* ab, int64_t as, const Operand& A, int64_t M,
                                  int64_t K, int64_t K2p, int64_t r0, int64_t r1) {
  const View a(A);
  if (!A.trans) {  // stored [M, K]: each row's consecutive elements are its pairs
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t kk = 0; kk < K2p; kk += 16)
        _mm512_storeu_si512(ab + r * as + kk,
                            r < M ? load_pairs(a.at(r, 2 * kk), a.bf16, K - 2 * kk)
                                  : _mm512_setzero_si512());
    return;
  }
  // Stored [K, M]: stored rows k and k+1 give one pair of each of 16 rows of op(A); 16 such
  // vectors are transposed into 16 pairs of 16 rows.
  __m512i r[16];
  for (int64_t m0 = r0; m0 < r1; m0 += 16) {
    const __mmask16 m = mask_of(M - m0);
    for (int64_t kk0 = 0; kk0 < K2p; kk0 += 16) {
      for (int i = 0; i < 16; ++i) {
        const int64_t k0 = 2 * (kk0 + i), k1 = k0 + 1;
        const __m512i lo = k0 < K && m ? load_lo(a.at(k0, m0), a.bf16, m) : _mm512_setzero_si512();
        const __m512i hi = k1 < K && m ? load_lo(a.at(k1, m0), a.bf16, m) : _mm512_setzero_si512();
        r[i] = _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
      }
      transpose16(r);
      for (int i = 0; i < 16; ++i) _mm512_store_si512(ab + (m0 + i) * as + kk0, r[i]);
    }
  }
}

}  // namespace

Bf16Engine bf16_engine() {
  const char* env = std::getenv("LLADA_GEMM_BF16");
  if (env && std::strcmp(env, "onednn") == 0) return Bf16Engine::None;
  if (env && std::strcmp(env, "dot") == 0) return dot_bf16_usable() ? Bf16Engine::Dot : Bf16Engine::None;
  return packed_amx_active() ? Bf16Engine::Amx : Bf16Engine::None;
}

void bf16_gemm(Bf16Engine engine, int64_t M, int64_t N, int64_t K, const Operand& A, const Operand& B,
               float* C, int64_t ldc, float beta) {
  LLADA_CHECK(engine != Bf16Engine::None, "bf16_gemm: no bf16 engine on this CPU (check bf16_engine first)");
  const bool amx = engine == Bf16Engine::Amx;
  thread_local AlignedScratch a_buf, b_buf;
  const int64_t K2p = (K + 2 * kAmxK2 - 1) / (2 * kAmxK2) * kAmxK2;  // pairs, whole tile steps
  const int64_t as = K2p + 16;  // row stride in words: off a multiple of 4 KB (see packed_gemm)
  const int64_t rows = (M + 15) / 16 * 16, panels = (N + kNR - 1) / kNR;
  const int64_t panel_words = K2p * kNR;
  uint32_t* ab = static_cast<uint32_t*>(a_buf.get(size_t(rows * as) * 4));
  uint32_t* pb = static_cast<uint32_t*>(b_buf.get(size_t(panels * panel_words) * 4));
  const int64_t row_tiles = rows / 16;
  const int64_t tiles = panels * (amx ? amx_row_blocks(M) : dot_row_blocks(M));
  const int nthr = omp_in_parallel() ? 1 : int(std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), tiles)));
  std::atomic<int64_t> next{0};
#pragma omp parallel num_threads(nthr)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t rt0 = row_tiles * t / nt, rt1 = row_tiles * (t + 1) / nt;
    if (rt1 > rt0) pack_a_rows(ab, as, A, M, K, K2p, rt0 * 16, rt1 * 16);
    for (int64_t pi = t; pi < panels; pi += nt) pack_b_panel(pb + pi * panel_words, B, pi, N, K, K2p);
#pragma omp barrier
    if (amx) {
      const int64_t blocks = amx_row_blocks(M);
      amx_configure();
      run_guided(panels * blocks, blocks, nt, next, [&](int64_t t0, int64_t t1) {
        run_tiles_amx(t0, t1, M, N, K2p, ab, as, pb, C, ldc, beta);
      });
      amx_release();
    } else {
      // K in slices of kDotSlice pairs (the slices after the first accumulate: beta 1), so the
      // operand read again and again stays in cache: panel-major re-reads A for every panel
      // (12/32 of block-major's traffic), block-major re-reads the B slice for every row block,
      // which wins when A is the larger operand and the B slice fits in L2.
      const bool block_major = M > N && N * kDotSlice * 4 <= kDotPanelsInL2;
      DotTiles g{M, N, K2p, 0, std::min<int64_t>(K2p, kDotSlice), as, ldc, block_major};
      for (; g.k0 < K2p; g.k0 += g.kc) {
        g.kc = std::min<int64_t>(kDotSlice, K2p - g.k0);
        const float b = g.k0 == 0 ? beta : 1.0f;
        run_guided(g.tiles(), g.group(), nt, next, [&](int64_t t0, int64_t t1) {
          run_tiles_dot(t0, t1, g, ab, pb, C, b);
        });
#pragma omp barrier
#pragma omp single
        next.store(0);
      }
    }
  }
}

#else  // no AMX kernel compiled in

Bf16Engine bf16_engine() { return Bf16Engine::None; }  // oneDNN
void bf16_gemm(Bf16Engine, int64_t, int64_t, int64_t, const Operand&, const Operand&, float*, int64_t, float) {
  LLADA_CHECK(false, "bf16_gemm: built without AVX-512 (check bf16_engine first)");
}

#endif

const char* bf16_engine_name(Bf16Engine e) {
  switch (e) {
    case Bf16Engine::Amx: return "amx";
    case Bf16Engine::Dot: return "dot";
    case Bf16Engine::None: break;
  }
  return "none";
}

}  // namespace llada::kernels::cpu
