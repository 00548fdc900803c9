// gemm_packed against gemm_ref: odd sizes around the 12-row tile and 32-column panel, every beta
// kind, f32 and bf16 weights, weights with a padded row stride, and calls from inside an OpenMP
// region (single-threaded there).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/matmul.h"
#include "kernels/packed_matmul.h"
#include "test_util.h"

namespace llada::kernels {
namespace {

using test::randn;

// Tolerances as in test_gemm.cpp. f32: only the summation order differs from the reference
// (1e-5 relative + 1e-5*sqrt(K) absolute). bf16: both sides round x to bf16 with RNE and the
// products of two bf16 values are exact in f32, so again only the order of the f32 sums differs;
// vdpbf16ps adds each pair before accumulating, hence the looser 1e-4 kept from test_gemm.
void run_case(int64_t M, int64_t N, int64_t K, int64_t pad, float beta, DType wdt, uint64_t seed) {
  const int64_t ldw = K + pad, lda = K + pad, ldc = N + pad;
  auto wf = randn(size_t(N * ldw), seed);
  std::vector<bf16_t> wb(wf.size());
  for (size_t i = 0; i < wf.size(); ++i) wb[i] = f32_to_bf16(wf[i]);
  const void* wdata = wdt == DType::F32 ? (const void*)wf.data() : (const void*)wb.data();
  auto a = randn(size_t(M * lda), seed + 1);
  auto c0 = randn(size_t(M * ldc), seed + 2);
  auto c_fast = c0, c_ref = c0;
  const PackedMatrix P = PackedMatrix::pack(wdata, wdt, N, K, ldw);
  gemm_packed(M, a.data(), lda, P, c_fast.data(), ldc, beta);
  gemm_ref(M, N, K, Operand{a.data(), DType::F32, lda, false}, Operand{wdata, wdt, ldw, true},
           c_ref.data(), ldc, beta);
  const double tol = wdt == DType::BF16 ? 1e-4 : 1e-5;
  const std::string what =
      strformat("M=%lld N=%lld K=%lld pad=%lld beta=%g %s (native %d)", (long long)M, (long long)N,
                (long long)K, (long long)pad, beta, dtype_name(wdt), int(!P.is_fallback()));
  EXPECT_LE(test::max_rel_excess(c_fast.data(), c_ref.data(), c_fast.size(),
                                 tol * std::sqrt(double(K) + 1), tol),
            1.0)
      << what;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = N; j < ldc; ++j) ASSERT_EQ(c_fast[i * ldc + j], c0[i * ldc + j]) << what;
}

TEST(PackedGemm, OddSizesBetasDtypes) {
  uint64_t seed = 1;
  for (DType wdt : {DType::F32, DType::BF16})
    for (int64_t M : {1, 5, 11, 12, 13, 25, 160})
      for (int64_t N : {1, 16, 31, 32, 33, 70})
        for (int64_t K : {1, 2, 3, 17, 64, 129})
          for (float beta : {0.0f, 1.0f, 0.5f}) run_case(M, N, K, (M + N + K) % 3, beta, wdt, seed++);
}

// Switches the AMX kernels for bf16 weights off (or back on) for the matrices packed in a scope.
struct AmxSetting {
  explicit AmxSetting(bool on) { set_packed_amx(on); }
  ~AmxSetting() { set_packed_amx(true); }
};

// On an AMX CPU both bf16 kernels exist: each is checked on its own, around the 16-row and 32-row
// tiles, the 32-pair K step (K = 31, 32, 33, 63, 65) and odd panels.
TEST(PackedGemm, Bf16TileAndDotProductKernelsBothExact) {
  if (!packed_amx_active()) GTEST_SKIP() << "no AMX on this CPU (or LLADA_AMX=0)";
  uint64_t seed = 500;
  for (bool amx : {true, false}) {
    AmxSetting setting(amx);
    std::vector<bf16_t> w(8 * 8);
    const PackedMatrix probe = PackedMatrix::pack(w.data(), DType::BF16, 8, 8, 8);
    ASSERT_EQ(probe.uses_amx(), amx);
    if (!amx && probe.is_fallback()) continue;  // no vdpbf16ps without AMX: the gemm fallback
    for (int64_t M : {1, 15, 16, 17, 31, 32, 33, 48, 70})
      for (int64_t N : {1, 31, 32, 33, 100})
        for (int64_t K : {1, 31, 32, 33, 63, 65, 200})
          run_case(M, N, K, (M + K) % 2, (M % 3) * 0.5f, DType::BF16, seed++);
  }
}

TEST(PackedGemm, ModelSizedShapes) {
  run_case(160, 1024, 1024, 0, 0.0f, DType::F32, 7);
  run_case(160, 1024, 2816, 0, 1.0f, DType::BF16, 8);
  run_case(37, 6144, 256, 0, 0.0f, DType::BF16, 9);
}

// Each thread of the region multiplies on its own (for AMX: configures its own tile registers).
TEST(PackedGemm, InsideParallelRegionIsSingleThreadedAndCorrect) {
  const int64_t M = 29, N = 45, K = 77;
  auto w = randn(size_t(N * K), 3);
  std::vector<bf16_t> wb;
  for (float& x : w) {
    wb.push_back(f32_to_bf16(x));
    x = bf16_to_f32(wb.back());  // the same values in both dtypes
  }
  auto a = randn(size_t(M * K), 4);
  for (DType wdt : {DType::F32, DType::BF16}) {
    const PackedMatrix P = wdt == DType::F32 ? PackedMatrix::pack(w.data(), wdt, N, K, K)
                                             : PackedMatrix::pack(wb.data(), wdt, N, K, K);
    std::vector<float> ref(size_t(M * N));
    gemm_ref(M, N, K, Operand{a.data(), DType::F32, K, false},
             Operand{wdt == DType::F32 ? (const void*)w.data() : (const void*)wb.data(), wdt, K, true},
             ref.data(), N);
    std::vector<std::vector<float>> out(4, std::vector<float>(size_t(M * N)));
#pragma omp parallel for num_threads(4)
    for (int i = 0; i < 4; ++i) gemm_packed(M, a.data(), K, P, out[size_t(i)].data(), N);
    for (int i = 0; i < 4; ++i)
      EXPECT_LE(test::max_rel_excess(out[size_t(i)].data(), ref.data(), ref.size(), 1e-4, 1e-4), 1.0)
          << dtype_name(wdt) << " amx " << P.uses_amx();
  }
}

// Products sharing one input in one call equal the same products made one by one.
TEST(PackedGemm, MultiOutputEqualsSeparateCalls) {
  for (DType wdt : {DType::F32, DType::BF16}) {
    const int64_t M = 23, K = 45, Ns[3] = {64, 17, 33};
    auto a = randn(size_t(M * K), 11);
    std::vector<std::vector<float>> w(3);
    std::vector<std::vector<bf16_t>> wb(3);
    std::vector<PackedMatrix> P;
    for (int o = 0; o < 3; ++o) {
      w[o] = randn(size_t(Ns[o] * K), 20 + o);
      for (float x : w[o]) wb[o].push_back(f32_to_bf16(x));
      P.push_back(wdt == DType::F32 ? PackedMatrix::pack(w[o].data(), wdt, Ns[o], K, K)
                                    : PackedMatrix::pack(wb[o].data(), wdt, Ns[o], K, K));
    }
    std::vector<std::vector<float>> multi(3), single(3);
    for (int o = 0; o < 3; ++o) {
      multi[o] = randn(size_t(M * Ns[o]), 30 + o);
      single[o] = multi[o];
    }
    const PackedProduct outs[3] = {{&P[0], multi[0].data(), Ns[0], 0.0f},
                                   {&P[1], multi[1].data(), Ns[1], 1.0f},
                                   {&P[2], multi[2].data(), Ns[2], 0.5f}};
    gemm_packed_multi(M, a.data(), K, outs, 3);
    const float betas[3] = {0.0f, 1.0f, 0.5f};
    for (int o = 0; o < 3; ++o) {
      gemm_packed(M, a.data(), K, P[o], single[o].data(), Ns[o], betas[o]);
      EXPECT_EQ(multi[o], single[o]) << "output " << o << " " << dtype_name(wdt);
    }
    std::vector<float> w2 = randn(size_t(8 * (K + 1)), 40);
    const PackedMatrix other = PackedMatrix::pack(w2.data(), DType::F32, 8, K + 1, K + 1);
    std::vector<float> c(size_t(M * 8));
    const PackedProduct bad[2] = {{&P[0], multi[0].data(), Ns[0]}, {&other, c.data(), 8}};
    EXPECT_THROW(gemm_packed_multi(M, a.data(), K + 1, bad, 2), Error) << "different K";
  }
}

// The serial lower level used by attention: W given as [N, K] or as [K, N] (kn), any strides.
TEST(PackedGemm, SerialPackIntoCallerMemoryBothLayouts) {
  if (!packed_gemm_native(DType::F32)) GTEST_SKIP() << "no AVX-512 on this CPU/build";
  uint64_t seed = 100;
  for (bool kn : {false, true})
    for (int64_t M : {1, 13, 40})
      for (int64_t N : {5, 32, 64, 77})
        for (int64_t K : {1, 31, 160}) {
          const int64_t ldw = (kn ? N : K) + 3, lda = K + 2, ldc = N + 1;
          auto w = randn(size_t((kn ? K : N) * ldw), seed++);
          auto a = randn(size_t(M * lda), seed++);
          std::vector<float> packed(size_t(packed_f32_floats(N, K)));
          pack_f32(packed.data(), w.data(), N, K, ldw, kn);
          auto c0 = randn(size_t(M * ldc), seed++);
          auto c = c0, ref = c0;
          gemm_packed_f32_serial(M, a.data(), lda, packed.data(), N, K, c.data(), ldc, 1.0f);
          gemm_ref(M, N, K, Operand{a.data(), DType::F32, lda, false},
                   Operand{w.data(), DType::F32, ldw, !kn}, ref.data(), ldc, 1.0f);
          EXPECT_LE(test::max_rel_excess(c.data(), ref.data(), c.size(), 1e-5 * std::sqrt(K + 1.0), 1e-5), 1.0)
              << "kn=" << kn << " M=" << M << " N=" << N << " K=" << K;
        }
}

// int8 weights (model/quantize.h's scheme) against an independent reference of the documented
// arithmetic: each row of A quantized to round-half-even(x * 127 / max|x|), the integer dot product
// (int64 here), then float(sum) * (sa * sw) and beta. The sums are exact, so the VNNI kernel and
// the scalar code must both equal it bit for bit, at any thread count, for one product or several.
std::vector<float> int8_reference(int64_t M, int64_t N, int64_t K, const std::vector<float>& a, int64_t lda,
                                  const std::vector<int8_t>& w, int64_t ldw, const std::vector<float>& sw,
                                  std::vector<float> c, int64_t ldc, float beta) {
  for (int64_t i = 0; i < M; ++i) {
    float amax = 0;
    for (int64_t k = 0; k < K; ++k) amax = std::max(amax, std::fabs(a[size_t(i * lda + k)]));
    const float inv = amax > 0 ? 127.0f / amax : 0.0f, sa = amax / 127.0f;
    for (int64_t j = 0; j < N; ++j) {
      int64_t acc = 0;
      for (int64_t k = 0; k < K; ++k)
        acc += int64_t(std::nearbyint(a[size_t(i * lda + k)] * inv)) * w[size_t(j * ldw + k)];
      const float r = float(acc) * (sa * sw[size_t(j)]);
      float& o = c[size_t(i * ldc + j)];
      o = beta == 0.0f ? r : (beta == 1.0f ? o + r : std::fma(beta, o, r));
    }
  }
  return c;
}

struct I8Setting {
  explicit I8Setting(bool vnni) { set_packed_i8_vnni(vnni); }
  ~I8Setting() { set_packed_i8_vnni(true); }
};

TEST(PackedGemm, Int8EqualsTheReferenceOnBothKernels) {
  uint64_t seed = 900;
  for (bool vnni : {true, false}) {
    I8Setting setting(vnni);
    // Allowed: VNNI or the AVX2 kernel, whichever this CPU has; switched off: the scalar code.
    if (vnni && std::string(packed_i8_kernel()) == "scalar") continue;
    for (int64_t M : {1, 5, 12, 13, 40})
      for (int64_t N : {1, 31, 33, 100})
        for (int64_t K : {1, 3, 4, 70, 257})
          for (float beta : {0.0f, 1.0f, 0.5f}) {
            const int64_t pad = (M + K) % 3, lda = K + pad, ldw = K + pad, ldc = N + pad;
            auto a = randn(size_t(M * lda), seed++);
            if (M > 1) std::fill(a.begin(), a.begin() + K, 0.0f);  // a zero row: scale 0
            auto wf = randn(size_t(N * ldw), seed++);
            std::vector<int8_t> w(wf.size());
            for (size_t i = 0; i < w.size(); ++i) w[i] = int8_t(std::clamp(std::lround(wf[i] * 40), -127L, 127L));
            auto sw = randn(size_t(N), seed++);
            for (float& v : sw) v = std::fabs(v) * 0.01f;
            const auto c0 = randn(size_t(M * ldc), seed++);
            const auto want = int8_reference(M, N, K, a, lda, w, ldw, sw, c0, ldc, beta);
            const PackedMatrix P = PackedMatrix::pack_int8(w.data(), sw.data(), N, K, ldw);
            for (int threads : {1, 2}) {
              auto got = c0;
              omp_set_num_threads(threads);
              gemm_packed(M, a.data(), lda, P, got.data(), ldc, beta);
              for (size_t i = 0; i < got.size(); ++i)
                ASSERT_EQ(got[i], want[i]) << "vnni " << vnni << " M=" << M << " N=" << N << " K=" << K
                                           << " beta=" << beta << " threads " << threads << " at " << i;
            }
            omp_set_num_threads(2);
            // Two products of one input in one call equal the two calls.
            if (N > 1) {
              auto c1 = c0, c2 = c0;
              const PackedProduct outs[2] = {{&P, c1.data(), ldc, beta}, {&P, c2.data(), ldc, beta}};
              gemm_packed_multi(M, a.data(), lda, outs, 2);
              ASSERT_EQ(c1, want);
              ASSERT_EQ(c2, want);
            }
          }
  }
}

// The 4-bit product's definition (kernels/cpu/packed_gemm_q4.cpp), written plainly: activations
// quantized as for int8, per group of 32 inputs the exact integer sum, fma into the float sum, times sa.
std::vector<float> q4_reference(int64_t M, int64_t N, int64_t K, const std::vector<float>& a, int64_t lda,
                                const std::vector<int8_t>& q, const std::vector<bf16_t>& s,
                                std::vector<float> c, int64_t ldc, float beta) {
  const int64_t G = (K + 31) / 32;
  for (int64_t i = 0; i < M; ++i) {
    float amax = 0;
    for (int64_t k = 0; k < K; ++k) amax = std::max(amax, std::fabs(a[size_t(i * lda + k)]));
    const float inv = amax > 0 ? 127.0f / amax : 0.0f, sa = amax / 127.0f;
    for (int64_t j = 0; j < N; ++j) {
      float acc = 0;
      for (int64_t g = 0; g < G; ++g) {
        int64_t d = 0;
        for (int64_t k = 32 * g; k < std::min(K, 32 * g + 32); ++k)
          d += int64_t(std::nearbyint(a[size_t(i * lda + k)] * inv)) * q[size_t(j * K + k)];
        acc = std::fma(float(d), bf16_to_f32(s[size_t(j * G + g)]), acc);
      }
      const float r = acc * sa;
      float& o = c[size_t(i * ldc + j)];
      o = beta == 0.0f ? r : (beta == 1.0f ? o + r : std::fma(beta, o, r));
    }
  }
  return c;
}

TEST(PackedGemm, Q4EqualsTheReferenceOnBothKernels) {
  uint64_t seed = 1900;
  for (bool vnni : {true, false}) {
    I8Setting setting(vnni);  // one switch for both integer kernels: VNNI or AVX2, else scalar
    if (vnni && std::string(packed_i8_kernel()) == "scalar") continue;
    for (int64_t M : {1, 5, 6, 7, 40})
      for (int64_t N : {1, 31, 33, 100})
        for (int64_t K : {1, 3, 32, 70, 257})
          for (float beta : {0.0f, 1.0f, 0.5f}) {
            const int64_t pad = (M + K) % 3, lda = K + pad, ldc = N + pad, G = (K + 31) / 32;
            auto a = randn(size_t(M * lda), seed++);
            if (M > 1) std::fill(a.begin(), a.begin() + K, 0.0f);  // a zero row: scale 0
            auto wf = randn(size_t(N * K), seed++);
            std::vector<int8_t> q(wf.size());
            for (size_t i = 0; i < q.size(); ++i) q[i] = int8_t(std::clamp(std::lround(wf[i] * 3), -7L, 7L));
            auto sf = randn(size_t(N * G), seed++);
            std::vector<bf16_t> s(sf.size());
            for (size_t i = 0; i < s.size(); ++i) s[i] = f32_to_bf16(std::fabs(sf[i]) * 0.01f);
            const auto c0 = randn(size_t(M * ldc), seed++);
            const auto want = q4_reference(M, N, K, a, lda, q, s, c0, ldc, beta);
            const PackedMatrix P = PackedMatrix::pack_q4(q.data(), s.data(), N, K);
            for (int threads : {1, 2}) {
              auto got = c0;
              omp_set_num_threads(threads);
              gemm_packed(M, a.data(), lda, P, got.data(), ldc, beta);
              for (size_t i = 0; i < got.size(); ++i)
                ASSERT_EQ(got[i], want[i]) << "vnni " << vnni << " M=" << M << " N=" << N << " K=" << K
                                           << " beta=" << beta << " threads " << threads << " at " << i;
            }
            omp_set_num_threads(2);
            if (N > 1) {
              auto c1 = c0, c2 = c0;
              const PackedProduct outs[2] = {{&P, c1.data(), ldc, beta}, {&P, c2.data(), ldc, beta}};
              gemm_packed_multi(M, a.data(), lda, outs, 2);
              ASSERT_EQ(c1, want);
              ASSERT_EQ(c2, want);
            }
          }
  }
}

TEST(PackedGemm, BadInputIsAnError) {
  std::vector<float> w(12);
  EXPECT_THROW(PackedMatrix::pack(w.data(), DType::F16, 3, 4, 4), Error);
  EXPECT_THROW(PackedMatrix::pack(w.data(), DType::F32, 3, 4, 3), Error);
  const PackedMatrix P = PackedMatrix::pack(w.data(), DType::F32, 3, 4, 4);
  std::vector<float> a(8), c(6);
  EXPECT_THROW(gemm_packed(2, a.data(), 3, P, c.data(), 3), Error);
  EXPECT_THROW(gemm_packed(2, a.data(), 4, P, c.data(), 2), Error);
}

}  // namespace
}  // namespace llada::kernels
