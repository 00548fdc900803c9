// int8 weights in the packed GEMM (kernels/packed_matmul.h): W8 [N, K] with one F32 scale per
// output channel, multiplied by activations quantized per row at run time, on the AVX-512 VNNI
// dot product (vpdpbusd: 4 u8 x s8 products summed into each int32 lane).
//
// Per call, each row x of A becomes sa = max|x| / 127 and q = round-half-even(x * (127 / max|x|))
// in [-127, 127] (a zero row: sa = 0, q = 0), stored as u8 = q + 128 because vpdpbusd wants its
// first operand unsigned. Then for output column j
//   C[i, j] = float(sum_k u8[i,k] * w8[j,k] - 128 * sum_k w8[j,k]) * (sa[i] * sw[j])
// where the column sums are computed once at packing. The integer sum is exact (|sum| <= 255 * 127 *
// K < 2^31 for K < 66,000), so the result is a function of the inputs alone: the same bits on
// every thread count and in the PyTorch emulation (tests/reference/llada_torch.py, int8 mode).
//
// Layout: P = ceil(N / 32) panels of [K4][32][4] int8 (K4 = ceil(K / 4), zero-padded); beside
// them (PackedMatrix's aux buffer) the int32 column sums [P * 32], then the F32 column scales
// [P * 32]. A CPU with AVX2 but without VNNI runs the same integer sums on vpmaddwd (tile_avx2);
// any other runs them in scalar code (slow, for portability and tests). Every path gives the same
// bits.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "kernels/cpu/packed_tiles.h"
#include "kernels/packed_matmul.h"

#if defined(LLADA_PACKED_F32) && defined(__AVX512VNNI__)
#define LLADA_PACKED_I8 1
#endif
#if defined(__AVX2__)
#include <immintrin.h>
#define LLADA_I8_AVX2 1
#endif

namespace llada::kernels::cpu {
namespace {

struct I8Layout {
  int64_t panels, K4;
  size_t weight_bytes() const { return size_t(panels * K4 * kNR * 4); }
  size_t aux_bytes() const { return size_t(panels * kNR) * 8; }
  const int32_t* colsum(const void* aux) const { return static_cast<const int32_t*>(aux); }
  const float* scales(const void* aux) const {
    return reinterpret_cast<const float*>(colsum(aux) + panels * kNR);
  }
};

I8Layout layout(int64_t N, int64_t K) { return I8Layout{(N + kNR - 1) / kNR, (K + 3) / 4}; }

std::atomic<bool> g_vnni_allowed{true};

// Rows per tile: 8, not the float kernels' 12. Measured on the 8B FFN shape (docs/bench/kernels.md):
// 12-row tiles ran at 0.65-0.75x the speed of 6- or 8-row ones from M = 32 up.
constexpr int kMR8 = 8;
int64_t i8_row_blocks(int64_t M) { return (M + kMR8 - 1) / kMR8; }

bool vnni() {
#if defined(LLADA_PACKED_I8)
  static const bool ok = __builtin_cpu_supports("avx512vnni");
  return ok && g_vnni_allowed.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

// The AVX2 kernel: compiled in (a -march with AVX2) and not switched off; VNNI goes first.
bool avx2_i8() {
#if defined(LLADA_I8_AVX2)
  return !vnni() && g_vnni_allowed.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

// Row r of A quantized into `as` words of u8 quads (padding holds q = 0, i.e. 128); returns sa.
float quantize_row(const float* x, int64_t K, uint8_t* out, int64_t as_bytes) {
  float amax = 0;
  for (int64_t k = 0; k < K; ++k) amax = std::max(amax, std::fabs(x[k]));
  const float inv = amax > 0 ? 127.0f / amax : 0.0f;
  for (int64_t k = 0; k < K; ++k)
    out[k] = uint8_t(int(std::clamp(std::nearbyint(x[k] * inv), -127.0f, 127.0f)) + 128);
  std::memset(out + K, 128, size_t(as_bytes - K));
  return amax / 127.0f;
}

void tile_scalar(int mr, int64_t K4, const uint32_t* a, int64_t as, const int8_t* b, const int32_t* cs,
                 const float* ws, const float* sa, float* C, int64_t ldc, float beta, int nvalid) {
  for (int i = 0; i < mr; ++i) {
    const uint8_t* ai = reinterpret_cast<const uint8_t*>(a + i * as);
    for (int j = 0; j < nvalid; ++j) {
      int32_t acc = 0;
      for (int64_t k = 0; k < K4; ++k)
        for (int e = 0; e < 4; ++e) acc += int32_t(ai[4 * k + e]) * int32_t(b[(k * kNR + j) * 4 + e]);
      const float r = float(acc - 128 * cs[j]) * (sa[i] * ws[j]);
      float& c = C[i * ldc + j];
      c = beta == 0.0f ? r : (beta == 1.0f ? c + r : std::fma(beta, c, r));  // as store_row
    }
  }
}

#if defined(LLADA_I8_AVX2)
// Without VNNI: the u8 activations and the int8 weights widened to 16 bits, so that vpmaddwd's
// products (at most 255 * 128) and its sums of two (< 2^16) are exact, as vpmaddubsw's saturating
// 16-bit sums would not be. `a16` holds each quad of a row widened once per call ([u0, u1, u2, u3]
// as four int16 in one int64), so a broadcast is one load. R rows by 8 columns per pass: 2R
// accumulators, 2 widened weight vectors and a broadcast stay in the 16 ymm registers. Each
// accumulator lane holds the sum of two k of one column, added in pairs at the end.
template <int R>
void tile_avx2_rows(int64_t K4, const int64_t* a16, int64_t as, const int8_t* b, const int32_t* cs,
                    const float* ws, const float* sa, float* C, int64_t ldc, float beta, int nvalid) {
  for (int g = 0; g * 8 < nvalid; ++g) {
    __m256i acc[R][2];
    for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
    const int8_t* bg = b + g * 32;  // columns 8g.. 8g+7 of each quad's 128 bytes
    for (int64_t k = 0; k < K4; ++k) {
      const __m256i w0 = _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(bg + k * 128)));
      const __m256i w1 = _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(bg + k * 128 + 16)));
#pragma GCC unroll 4
      for (int i = 0; i < R; ++i) {
        const __m256i x = _mm256_set1_epi64x(a16[i * as + k]);
        acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(w0, x));
        acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(w1, x));
      }
    }
    for (int i = 0; i < R; ++i) {
      alignas(32) int32_t s[16];
      _mm256_store_si256(reinterpret_cast<__m256i*>(s), acc[i][0]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(s + 8), acc[i][1]);
      for (int j = 0; j < 8 && g * 8 + j < nvalid; ++j) {
        const int col = g * 8 + j;
        const float r = float(s[2 * j] + s[2 * j + 1] - 128 * cs[col]) * (sa[i] * ws[col]);
        float& c = C[i * ldc + col];
        c = beta == 0.0f ? r : (beta == 1.0f ? c + r : std::fma(beta, c, r));  // as tile_scalar
      }
    }
  }
}

void tile_avx2(int mr, int64_t K4, const int64_t* a16, int64_t as, const int8_t* b, const int32_t* cs,
               const float* ws, const float* sa, float* C, int64_t ldc, float beta, int nvalid) {
  for (int i0 = 0; i0 < mr; i0 += 4) {
    const int64_t* a = a16 + i0 * as;
    float* c = C + i0 * ldc;
    switch (std::min(4, mr - i0)) {
      case 1: tile_avx2_rows<1>(K4, a, as, b, cs, ws, sa + i0, c, ldc, beta, nvalid); break;
      case 2: tile_avx2_rows<2>(K4, a, as, b, cs, ws, sa + i0, c, ldc, beta, nvalid); break;
      case 3: tile_avx2_rows<3>(K4, a, as, b, cs, ws, sa + i0, c, ldc, beta, nvalid); break;
      default: tile_avx2_rows<4>(K4, a, as, b, cs, ws, sa + i0, c, ldc, beta, nvalid); break;
    }
  }
}

// Row r's quads, widened for tile_avx2.
void widen_row(const uint32_t* q, int64_t K4, int64_t* out) {
  for (int64_t k = 0; k < K4; ++k) {
    const uint64_t v = q[k];
    out[k] = int64_t((v & 0xFF) | (v >> 8 & 0xFF) << 16 | (v >> 16 & 0xFF) << 32 | (v >> 24) << 48);
  }
}
#endif

#if defined(LLADA_PACKED_I8)
// GCC 12's headers implement _mm512_slli_epi32 and _mm512_cvtepi32_ps with a deliberately
// undefined pass-through operand and then warn about it (a false positive, GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
template <int MR>
struct MicroI8 {
  static void run(int64_t K4, const uint32_t* __restrict a, int64_t as, const int8_t* __restrict b,
                  const int32_t* cs, const float* ws, const float* sa, float* C, int64_t ldc, float beta,
                  int nvalid, const char* pf, int64_t npf) {
    __m512i c0[MR], c1[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_si512();
#pragma GCC unroll 2
    for (int64_t k = 0; k < K4; ++k) {
      const __m512i b0 = _mm512_load_si512(b), b1 = _mm512_load_si512(b + 64);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const __m512i ai = _mm512_set1_epi32(int(a[i * as + k]));
        c0[i] = _mm512_dpbusd_epi32(c0[i], ai, b0);
        c1[i] = _mm512_dpbusd_epi32(c1[i], ai, b1);
      }
      b += 4 * kNR;
      if ((k & 3) == 3 && npf > 0) {
        _mm_prefetch(pf, _MM_HINT_T0);
        pf += 64;
        --npf;
      }
    }
    const __m512i corr0 = _mm512_slli_epi32(_mm512_loadu_si512(cs), 7),
                  corr1 = _mm512_slli_epi32(_mm512_loadu_si512(cs + 16), 7);
    const __m512 ws0 = _mm512_loadu_ps(ws), ws1 = _mm512_loadu_ps(ws + 16);
    const __mmask16 m0 = tail_mask(nvalid), m1 = tail_mask(std::max(nvalid - 16, 0));
    for (int i = 0; i < MR; ++i) {
      const __m512 s = _mm512_set1_ps(sa[i]);
      const __m512 r0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(c0[i], corr0)), _mm512_mul_ps(s, ws0));
      const __m512 r1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(c1[i], corr1)), _mm512_mul_ps(s, ws1));
      store_row(C + i * ldc, r0, r1, m0, m1, beta);
    }
  }
};

#pragma GCC diagnostic pop

#endif

// Tiles [t0, t1) (panel-major) of one product.
void run_tiles_i8(int64_t t0, int64_t t1, int64_t M, int64_t N, const I8Layout& L, const void* packed,
                  const void* aux, const uint32_t* ab, const int64_t* a16, int64_t as, const float* sa, float* C,
                  int64_t ldc, float beta) {
  const int64_t blocks = i8_row_blocks(M);
  const size_t panel_bytes = size_t(L.K4 * kNR * 4);
  for (int64_t ti = t0; ti < t1; ++ti) {
    const int64_t pi = ti / blocks, bi = ti % blocks;
    const int64_t r0 = block_start(M, blocks, bi);
    const int mr = int(block_start(M, blocks, bi + 1) - r0);
    const int nvalid = int(std::min<int64_t>(kNR, N - pi * kNR));
    const int8_t* b = static_cast<const int8_t*>(packed) + pi * panel_bytes;
    const int32_t* cs = L.colsum(aux) + pi * kNR;
    const float* ws = L.scales(aux) + pi * kNR;
    float* c = C + r0 * ldc + pi * kNR;
#if defined(LLADA_PACKED_I8)
    if (vnni()) {
      const int64_t lines = int64_t(panel_bytes / 64);
      const int64_t l0 = lines * bi / blocks, l1 = lines * (bi + 1) / blocks;
      const char* pf = reinterpret_cast<const char*>(b) + panel_bytes + l0 * 64;
      const int64_t npf = (pi + 1) * kNR < N ? l1 - l0 : 0;
      with_mr<MicroI8>(mr, L.K4, ab + r0 * as, as, b, cs, ws, sa + r0, c, ldc, beta, nvalid, pf, npf);
      continue;
    }
#endif
#if defined(LLADA_I8_AVX2)
    if (a16) {
      tile_avx2(mr, L.K4, a16 + r0 * as, as, b, cs, ws, sa + r0, c, ldc, beta, nvalid);
      continue;
    }
#endif
    (void)a16;
    tile_scalar(mr, L.K4, ab + r0 * as, as, b, cs, ws, sa + r0, c, ldc, beta, nvalid);
  }
}

}  // namespace

bool i8_vnni_usable() { return vnni(); }
bool i8_avx2_usable() { return avx2_i8(); }
const char* i8_kernel_name() { return vnni() ? "avx512-vnni" : avx2_i8() ? "avx2" : "scalar"; }

}  // namespace llada::kernels::cpu

namespace llada::kernels {
void set_packed_i8_vnni(bool allowed) { cpu::g_vnni_allowed.store(allowed); }
bool packed_i8_vnni_active() { return cpu::i8_vnni_usable(); }
const char* packed_i8_kernel() { return cpu::i8_kernel_name(); }
}  // namespace llada::kernels

namespace llada::kernels::cpu {

size_t i8_packed_bytes(int64_t N, int64_t K) { return layout(N, K).weight_bytes(); }
size_t i8_aux_bytes(int64_t N, int64_t K) { return layout(N, K).aux_bytes(); }

void i8_aux_fill(void* aux, const int32_t* colsum, const float* scales, int64_t N, int64_t K) {
  const I8Layout L = layout(N, K);
  std::memset(aux, 0, L.aux_bytes());
  std::memcpy(const_cast<int32_t*>(L.colsum(aux)), colsum, size_t(N) * 4);
  std::memcpy(const_cast<float*>(L.scales(aux)), scales, size_t(N) * 4);
}

void pack_i8(void* dst, void* aux, const int8_t* W, const float* scales, int64_t N, int64_t K, int64_t ld) {
  const I8Layout L = layout(N, K);
  int8_t* w = static_cast<int8_t*>(dst);
  int32_t* cs = const_cast<int32_t*>(L.colsum(aux));
  float* ws = const_cast<float*>(L.scales(aux));
  constexpr int64_t kQuads = 16;  // K quads per block: 32 rows x 64 bytes read, 2 KB written in order
#pragma omp parallel for schedule(static)
  for (int64_t pi = 0; pi < L.panels; ++pi) {
    int8_t* panel = w + pi * L.K4 * kNR * 4;
    int32_t sum[kNR] = {0};
    alignas(64) int8_t rows[kNR][kQuads * 4];
    for (int64_t q0 = 0; q0 < L.K4; q0 += kQuads) {
      const int64_t nq = std::min(kQuads, L.K4 - q0), k0 = q0 * 4, kn = std::min(K - k0, nq * 4);
      for (int j = 0; j < kNR; ++j) {
        const int64_t n = pi * kNR + j;
        std::memset(rows[j], 0, sizeof rows[j]);
        if (n < N && kn > 0) std::memcpy(rows[j], W + n * ld + k0, size_t(kn));
        for (int64_t k = 0; k < kn; ++k) sum[j] += rows[j][k];  // -128 (never written) is still exact
      }
      for (int64_t qq = 0; qq < nq; ++qq)
        for (int j = 0; j < kNR; ++j) std::memcpy(panel + ((q0 + qq) * kNR + j) * 4, &rows[j][qq * 4], 4);
    }
    for (int j = 0; j < kNR; ++j) {
      const int64_t n = pi * kNR + j;
      cs[pi * kNR + j] = sum[j];
      ws[pi * kNR + j] = n < N ? scales[n] : 0.0f;
    }
  }
}

void gemm_i8(int64_t M, const float* A, int64_t lda, const PackedProduct* outs, int n_outs) {
  const int64_t K = outs[0].W->cols();
  const I8Layout L0 = layout(1, K);
  const int64_t as = (L0.K4 + 15) / 16 * 16 + 16;  // words; a stride off the 4 KB aliasing
  const bool widen = avx2_i8();  // tile_avx2 reads the quads widened (a16)
  const size_t ab_bytes = size_t(M * as) * 4, sa_bytes = (size_t(M) * 4 + 63) / 64 * 64;
  uint8_t* mem = static_cast<uint8_t*>(call_scratch(ab_bytes + sa_bytes + (widen ? 2 * ab_bytes : 0) + 64));
  uint32_t* ab = reinterpret_cast<uint32_t*>(mem);
  float* sa = reinterpret_cast<float*>(mem + ab_bytes);
  int64_t* a16 = widen ? reinterpret_cast<int64_t*>(mem + ab_bytes + sa_bytes) : nullptr;
  int64_t first_panel[kMaxPackedOutputs + 1] = {0};
  for (int o = 0; o < n_outs; ++o) first_panel[o + 1] = first_panel[o] + (outs[o].W->rows() + kNR - 1) / kNR;
  const int64_t blocks = i8_row_blocks(M), tiles = first_panel[n_outs] * blocks;
  const int nthr = omp_in_parallel() ? 1 : int(std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), tiles)));
  std::atomic<int64_t> next{0};
#pragma omp parallel num_threads(nthr)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    for (int64_t r = t; r < M; r += nt) {
      sa[r] = quantize_row(A + r * lda, K, reinterpret_cast<uint8_t*>(ab + r * as), as * 4);
#if defined(LLADA_I8_AVX2)
      if (a16) widen_row(ab + r * as, L0.K4, a16 + r * as);
#endif
    }
#pragma omp barrier
    auto run_range = [&](int64_t t0, int64_t t1) {
      for (int o = 0; o < n_outs; ++o) {
        const int64_t lo = std::max(t0, first_panel[o] * blocks), hi = std::min(t1, first_panel[o + 1] * blocks);
        if (lo >= hi) continue;
        const PackedMatrix& W = *outs[o].W;
        const int64_t f = first_panel[o] * blocks;
        run_tiles_i8(lo - f, hi - f, M, W.rows(), layout(W.rows(), K), W.packed_data(), W.aux_data(), ab, a16, as, sa, outs[o].C,
                     outs[o].ldc, outs[o].beta);
      }
    };
    if (nt == 1) {
      run_range(tiles * t / nt, tiles * (t + 1) / nt);
    } else {
      run_guided(tiles, blocks, nt, next, run_range);
    }
  }
}

}  // namespace llada::kernels::cpu
