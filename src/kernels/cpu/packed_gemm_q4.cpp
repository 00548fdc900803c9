// 4-bit weights in the packed GEMM (kernels/packed_matmul.h): W4 [N, K] in groups of 32 inputs,
// each group of a row with its own BF16 scale, multiplied by activations quantized per row at run
// time, on the AVX-512 VNNI dot product (vpdpbusd: 4 u8 x s8 products summed into each int32 lane).
//
// A weight is q in [-7, 7] stored as the nibble u = q + 8. Per call each row x of A becomes
// sa = max|x| / 127 and a = round-half-even(x * (127 / max|x|)) in [-127, 127] (int8's rule), kept
// signed; the weights are vpdpbusd's unsigned operand. For output column j and group g
//   D_g = sum_{k in g} a[k] * u[j,k] - 8 * sum_{k in g} a[k]     (= sum a * q, exact in int32)
//   acc = fma(float(D_g), s[j,g], acc)  for g = 0, 1, ...        (from acc = 0)
//   C[i, j] = acc * sa[i]
// The group sums of the activations are computed once per row; starting each group's integer
// accumulator at -8 * that sum applies the offset for free. Each step is one IEEE operation in a
// fixed order, so the result depends on the inputs alone: the same bits at every thread count, in
// the AVX2 kernel and the scalar code (CPUs without VNNI) and in the PyTorch emulation
// (tests/reference/llada_torch.py).
//
// Layout (P = ceil(N / 32) panels of 32 columns, G = ceil(K / 32) groups, zero-padded: u = 8):
//   panels [P][G][8 quads][64 bytes]: byte 4c + e of quad t holds, for k = 32g + 4t + e, column
//     32p + c in its low nibble and column 32p + 16 + c in its high nibble, so one 64-byte load
//     unpacks (and, shift) into the two 16-column vectors of vpdpbusd's layout;
//   scales [P][G][32] BF16 (the aux buffer), read in place.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "kernels/cpu/bf16_convert.h"
#include "kernels/cpu/packed_tiles.h"
#include "kernels/packed_matmul.h"

#if defined(LLADA_PACKED_F32) && defined(__AVX512VNNI__)
#define LLADA_PACKED_Q4 1
#endif
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define LLADA_Q4_AVX2 1
#endif

namespace llada::kernels::cpu {
namespace {

constexpr int kGroup = 32;         // inputs per scale
constexpr int kQuads = kGroup / 4;  // vpdpbusd steps per group
constexpr int kMR4 = 6;            // rows per tile: 4 accumulators per row (two int32, two f32)

struct Q4Layout {
  int64_t panels, groups;
  size_t panel_bytes() const { return size_t(groups) * kQuads * 64; }
  size_t weight_bytes() const { return size_t(panels) * panel_bytes(); }
  size_t scale_bytes() const { return size_t(panels * groups) * kNR * 2; }
};

Q4Layout layout(int64_t N, int64_t K) { return Q4Layout{(N + kNR - 1) / kNR, (K + kGroup - 1) / kGroup}; }

int64_t q4_row_blocks(int64_t M) { return (M + kMR4 - 1) / kMR4; }

bool vnni() {
#if defined(LLADA_PACKED_Q4)
  static const bool ok = __builtin_cpu_supports("avx512vnni");
  return ok && packed_i8_vnni_active();  // one switch for both integer kernels
#else
  return false;
#endif
}

// Row x quantized into `words` 32-bit quads of signed bytes (zero past K); writes -8 * the sum of
// each group of the quantized values to neg8[g]; returns sa.
float quantize_row_s8(const float* x, int64_t K, int8_t* out, int64_t words, int64_t G, int32_t* neg8) {
  float amax = 0;
  for (int64_t k = 0; k < K; ++k) amax = std::max(amax, std::fabs(x[k]));
  const float inv = amax > 0 ? 127.0f / amax : 0.0f;
  for (int64_t k = 0; k < K; ++k) out[k] = int8_t(std::clamp(std::nearbyint(x[k] * inv), -127.0f, 127.0f));
  std::memset(out + K, 0, size_t(words * 4 - K));
  for (int64_t g = 0; g < G; ++g) {
    int32_t s = 0;
    for (int k = 0; k < kGroup; ++k) s += out[g * kGroup + k];
    neg8[g] = -8 * s;
  }
  return amax / 127.0f;
}

void tile_scalar(int mr, int64_t G, const int8_t* a, int64_t as_bytes, const int32_t* neg8, const uint8_t* w,
                 const bf16_t* sc, const float* sa, float* C, int64_t ldc, float beta, int nvalid) {
  for (int i = 0; i < mr; ++i) {
    const int8_t* ai = a + i * as_bytes;
    for (int j = 0; j < nvalid; ++j) {
      const int half = j / 16, c = j % 16;
      float acc = 0.0f;
      for (int64_t g = 0; g < G; ++g) {
        int32_t d = neg8[i * G + g];
        for (int t = 0; t < kQuads; ++t) {
          const uint8_t* chunk = w + (g * kQuads + t) * 64;
          for (int e = 0; e < 4; ++e) {
            const int u = half ? chunk[4 * c + e] >> 4 : chunk[4 * c + e] & 15;
            d += int32_t(ai[g * kGroup + 4 * t + e]) * u;
          }
        }
        acc = std::fma(float(d), bf16_to_f32(sc[g * kNR + j]), acc);
      }
      const float r = acc * sa[i];
      float& out = C[i * ldc + j];
      out = beta == 0.0f ? r : (beta == 1.0f ? out + r : std::fma(beta, out, r));  // as store_row
    }
  }
}

#if defined(LLADA_Q4_AVX2)
// Without VNNI: vpmaddubsw multiplies the unsigned nibbles by the signed activations and adds
// pairs into 16 bits without saturating (|2 * 15 * 127| = 3,810), and a group's 8 quads still fit
// 16 bits (30,480); vpmaddwd by ones then gives each column's int32 sum, in column order. The 32
// bytes at 32h of a quad hold columns 8h.. 8h+7 (low nibbles) and 16+8h.. (high): R rows by those
// 16 columns per pass, 2R 16-bit and 2R f32 accumulators.
template <int R>
void q4_avx2_rows(int64_t G, const uint32_t* a, int64_t as, const int32_t* neg8, const uint8_t* w,
                  const bf16_t* sc, const float* sa, float* C, int64_t ldc, float beta, int nvalid) {
  const __m256i low = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
  for (int h = 0; h < 2 && 8 * h < nvalid; ++h) {
    __m256 f0[R], f1[R];  // columns 8h.., 16+8h..
    for (int i = 0; i < R; ++i) f0[i] = f1[i] = _mm256_setzero_ps();
    for (int64_t g = 0; g < G; ++g) {
      __m256i s0[R], s1[R];
      for (int i = 0; i < R; ++i) s0[i] = s1[i] = _mm256_setzero_si256();
      const uint8_t* wg = w + g * kQuads * 64 + 32 * h;
#pragma GCC unroll 8
      for (int t = 0; t < kQuads; ++t) {
        const __m256i raw = _mm256_load_si256(reinterpret_cast<const __m256i*>(wg + t * 64));
        const __m256i w0 = _mm256_and_si256(raw, low), w1 = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low);
#pragma GCC unroll 4
        for (int i = 0; i < R; ++i) {
          const __m256i x = _mm256_set1_epi32(int(a[i * as + g * kQuads + t]));
          s0[i] = _mm256_add_epi16(s0[i], _mm256_maddubs_epi16(w0, x));
          s1[i] = _mm256_add_epi16(s1[i], _mm256_maddubs_epi16(w1, x));
        }
      }
      const bf16_t* sg = sc + g * kNR;
      const __m256 sc0 = _mm256_castsi256_ps(_mm256_slli_epi32(
          _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sg + 8 * h))), 16));
      const __m256 sc1 = _mm256_castsi256_ps(_mm256_slli_epi32(
          _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sg + 16 + 8 * h))), 16));
      for (int i = 0; i < R; ++i) {
        const __m256i off = _mm256_set1_epi32(neg8[i * G + g]);
        const __m256i d0 = _mm256_add_epi32(_mm256_madd_epi16(s0[i], ones), off);
        const __m256i d1 = _mm256_add_epi32(_mm256_madd_epi16(s1[i], ones), off);
        f0[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d0), sc0, f0[i]);
        f1[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d1), sc1, f1[i]);
      }
    }
    for (int i = 0; i < R; ++i) {
      alignas(32) float r[16];
      _mm256_store_ps(r, _mm256_mul_ps(f0[i], _mm256_set1_ps(sa[i])));
      _mm256_store_ps(r + 8, _mm256_mul_ps(f1[i], _mm256_set1_ps(sa[i])));
      for (int j = 0; j < 16; ++j) {
        const int col = j < 8 ? 8 * h + j : 16 + 8 * h + (j - 8);
        if (col >= nvalid) continue;
        float& out = C[i * ldc + col];
        out = beta == 0.0f ? r[j] : (beta == 1.0f ? out + r[j] : std::fma(beta, out, r[j]));  // as tile_scalar
      }
    }
  }
}

void tile_avx2(int mr, int64_t G, const uint32_t* a, int64_t as, const int32_t* neg8, const uint8_t* w,
               const bf16_t* sc, const float* sa, float* C, int64_t ldc, float beta, int nvalid) {
  for (int i0 = 0; i0 < mr; i0 += 2) {
    if (mr - i0 >= 2)
      q4_avx2_rows<2>(G, a + i0 * as, as, neg8 + i0 * G, w, sc, sa + i0, C + i0 * ldc, ldc, beta, nvalid);
    else
      q4_avx2_rows<1>(G, a + i0 * as, as, neg8 + i0 * G, w, sc, sa + i0, C + i0 * ldc, ldc, beta, nvalid);
  }
}
#endif

#if defined(LLADA_PACKED_Q4)
// GCC 12's headers implement some conversions with a deliberately undefined pass-through operand
// and then warn about it (a false positive, GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
inline __m512 bf16x16_to_f32(const bf16_t* p) {
  return _mm512_castsi512_ps(
      _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
}

template <int MR>
struct MicroQ4 {
  static void run(int64_t G, const uint32_t* __restrict a, int64_t as, const int32_t* neg8,
                  const uint8_t* __restrict w, const bf16_t* sc, const float* sa, float* C, int64_t ldc,
                  float beta, int nvalid) {
    __m512 f0[MR], f1[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) f0[i] = f1[i] = _mm512_setzero_ps();
    const __m512i low = _mm512_set1_epi8(15);
    for (int64_t g = 0; g < G; ++g) {
      __m512i c0[MR], c1[MR];
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_set1_epi32(neg8[i * G + g]);
#pragma GCC unroll 8
      for (int t = 0; t < kQuads; ++t) {
        const __m512i raw = _mm512_load_si512(w + t * 64);
        const __m512i w0 = _mm512_and_si512(raw, low), w1 = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low);
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) {
          const __m512i ai = _mm512_set1_epi32(int(a[i * as + g * kQuads + t]));
          c0[i] = _mm512_dpbusd_epi32(c0[i], w0, ai);
          c1[i] = _mm512_dpbusd_epi32(c1[i], w1, ai);
        }
      }
      w += kQuads * 64;
      const __m512 s0 = bf16x16_to_f32(sc + g * kNR), s1 = bf16x16_to_f32(sc + g * kNR + 16);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        f0[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(c0[i]), s0, f0[i]);
        f1[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(c1[i]), s1, f1[i]);
      }
    }
    const __mmask16 m0 = tail_mask(nvalid), m1 = tail_mask(std::max(nvalid - 16, 0));
    for (int i = 0; i < MR; ++i) {
      const __m512 s = _mm512_set1_ps(sa[i]);
      store_row(C + i * ldc, _mm512_mul_ps(f0[i], s), _mm512_mul_ps(f1[i], s), m0, m1, beta);
    }
  }
};
#pragma GCC diagnostic pop

template <template <int> class F, typename... Args>
void with_mr4(int mr, Args... args) {
  switch (mr) {
    case 1: return F<1>::run(args...);
    case 2: return F<2>::run(args...);
    case 3: return F<3>::run(args...);
    case 4: return F<4>::run(args...);
    case 5: return F<5>::run(args...);
    case 6: return F<6>::run(args...);
  }
  static_assert(kMR4 == 6, "with_mr4 lists every tile height up to kMR4");
}
#endif

// Tiles [t0, t1) (panel-major) of one product.
void run_tiles_q4(int64_t t0, int64_t t1, int64_t M, int64_t N, const Q4Layout& L, const void* panels,
                  const void* scales, const uint32_t* ab, int64_t as, const int32_t* neg8, const float* sa,
                  float* C, int64_t ldc, float beta, bool avx2) {
  const int64_t blocks = q4_row_blocks(M);
  for (int64_t ti = t0; ti < t1; ++ti) {
    const int64_t pi = ti / blocks, bi = ti % blocks;
    const int64_t r0 = block_start(M, blocks, bi);
    const int mr = int(block_start(M, blocks, bi + 1) - r0);
    const int nvalid = int(std::min<int64_t>(kNR, N - pi * kNR));
    const uint8_t* w = static_cast<const uint8_t*>(panels) + pi * L.panel_bytes();
    const bf16_t* sc = static_cast<const bf16_t*>(scales) + pi * L.groups * kNR;
    float* c = C + r0 * ldc + pi * kNR;
#if defined(LLADA_PACKED_Q4)
    if (vnni()) {
      with_mr4<MicroQ4>(mr, L.groups, ab + r0 * as, as, neg8 + r0 * L.groups, w, sc, sa + r0, c, ldc, beta, nvalid);
      continue;
    }
#endif
#if defined(LLADA_Q4_AVX2)
    if (avx2) {
      tile_avx2(mr, L.groups, ab + r0 * as, as, neg8 + r0 * L.groups, w, sc, sa + r0, c, ldc, beta, nvalid);
      continue;
    }
#endif
    (void)avx2;
    tile_scalar(mr, L.groups, reinterpret_cast<const int8_t*>(ab + r0 * as), as * 4, neg8 + r0 * L.groups, w, sc,
                sa + r0, c, ldc, beta, nvalid);
  }
}

}  // namespace

size_t q4_packed_bytes(int64_t N, int64_t K) { return layout(N, K).weight_bytes(); }
size_t q4_scale_bytes(int64_t N, int64_t K) { return layout(N, K).scale_bytes(); }

void pack_q4(void* dst, void* scales_dst, const int8_t* q, const bf16_t* scales, int64_t N, int64_t K) {
  const Q4Layout L = layout(N, K);
  auto* w = static_cast<uint8_t*>(dst);
  auto* sc = static_cast<bf16_t*>(scales_dst);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < L.panels; ++p) {
    for (int64_t g = 0; g < L.groups; ++g) {
      for (int t = 0; t < kQuads; ++t) {
        uint8_t* chunk = w + p * L.panel_bytes() + size_t(g * kQuads + t) * 64;
        for (int c = 0; c < 16; ++c)
          for (int e = 0; e < 4; ++e) {
            const int64_t k = g * kGroup + 4 * t + e, n0 = p * kNR + c, n1 = n0 + 16;
            const int lo = (n0 < N && k < K) ? q[n0 * K + k] + 8 : 8;
            const int hi = (n1 < N && k < K) ? q[n1 * K + k] + 8 : 8;
            chunk[4 * c + e] = uint8_t(lo | (hi << 4));
          }
      }
      for (int j = 0; j < kNR; ++j) {
        const int64_t n = p * kNR + j;
        sc[(p * L.groups + g) * kNR + j] = n < N ? scales[n * L.groups + g] : bf16_t(0);
      }
    }
  }
}

void gemm_q4(int64_t M, const float* A, int64_t lda, const PackedProduct* outs, int n_outs) {
  const int64_t K = outs[0].W->cols();
  const Q4Layout L0 = layout(1, K);
  const int64_t words = L0.groups * kQuads;
  const int64_t as = (words + 15) / 16 * 16 + 16;  // words; a stride off the 4 KB aliasing
  uint8_t* mem = static_cast<uint8_t*>(
      call_scratch(size_t(M * as) * 4 + size_t(M * L0.groups) * 4 + size_t(M) * 4 + 64));
  uint32_t* ab = reinterpret_cast<uint32_t*>(mem);
  int32_t* neg8 = reinterpret_cast<int32_t*>(mem + size_t(M * as) * 4);
  float* sa = reinterpret_cast<float*>(neg8 + M * L0.groups);
  int64_t first_panel[kMaxPackedOutputs + 1] = {0};
  for (int o = 0; o < n_outs; ++o) first_panel[o + 1] = first_panel[o] + (outs[o].W->rows() + kNR - 1) / kNR;
  const int64_t blocks = q4_row_blocks(M), tiles = first_panel[n_outs] * blocks;
  const bool avx2 = i8_avx2_usable();  // one switch for both integer kernels
  const int nthr = omp_in_parallel() ? 1 : int(std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), tiles)));
  std::atomic<int64_t> next{0};
#pragma omp parallel num_threads(nthr)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    for (int64_t r = t; r < M; r += nt)
      sa[r] = quantize_row_s8(A + r * lda, K, reinterpret_cast<int8_t*>(ab + r * as), as, L0.groups,
                              neg8 + r * L0.groups);
#pragma omp barrier
    auto run_range = [&](int64_t t0, int64_t t1) {
      for (int o = 0; o < n_outs; ++o) {
        const int64_t lo = std::max(t0, first_panel[o] * blocks), hi = std::min(t1, first_panel[o + 1] * blocks);
        if (lo >= hi) continue;
        const PackedMatrix& W = *outs[o].W;
        const int64_t f = first_panel[o] * blocks;
        run_tiles_q4(lo - f, hi - f, M, W.rows(), layout(W.rows(), K), W.packed_data(), W.aux_data(), ab, as, neg8,
                     sa, outs[o].C, outs[o].ldc, outs[o].beta, avx2);
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
