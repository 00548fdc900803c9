// gemm (oneDNN) against gemm_ref: every transpose combination, leading dimensions larger than the
// rows, odd sizes, beta 0/1/other, f32 and bf16 operands, and calls from inside an OpenMP region.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "core/error.h"
#include "kernels/cpu/gemm_bf16.h"
#include "kernels/matmul.h"
#include "kernels/packed_matmul.h"
#include "test_util.h"

namespace llada::kernels {
namespace {

using test::randn;

struct Case {
  int64_t M, N, K;
  bool ta, tb;
  int64_t pad;  // extra leading-dimension padding on every operand
  float beta;
  DType da, db;
};

// f32: the products are exact-ish and only the summation order differs from the reference (oneDNN
// blocks K), so errors are ~K * eps * |a||b|; we allow 1e-5 relative + 1e-5 * sqrt(K) absolute.
// bf16: both sides round the same inputs to bf16 with RNE and accumulate in f32, so only the
// summation order differs again; the same tolerance would pass, but oneDNN may keep partial sums
// in bf16-friendly blocks, so we allow 1e-4 relative + 1e-4 * sqrt(K) absolute.
void run_case(const Case& c, uint64_t seed) {
  const int64_t a_rows = c.ta ? c.K : c.M, a_cols = c.ta ? c.M : c.K;
  const int64_t b_rows = c.tb ? c.N : c.K, b_cols = c.tb ? c.K : c.N;
  const int64_t lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.N + c.pad;
  auto af = randn(size_t(a_rows * lda), seed);
  auto bf = randn(size_t(b_rows * ldb), seed + 1);
  std::vector<bf16_t> ab(af.size()), bb(bf.size());
  for (size_t i = 0; i < af.size(); ++i) ab[i] = f32_to_bf16(af[i]);
  for (size_t i = 0; i < bf.size(); ++i) bb[i] = f32_to_bf16(bf[i]);
  Operand A{c.da == DType::F32 ? (const void*)af.data() : (const void*)ab.data(), c.da, lda, c.ta};
  Operand B{c.db == DType::F32 ? (const void*)bf.data() : (const void*)bb.data(), c.db, ldb, c.tb};
  auto c0 = randn(size_t(c.M * ldc), seed + 2);
  auto c_fast = c0, c_ref = c0;
  gemm(c.M, c.N, c.K, A, B, c_fast.data(), ldc, c.beta);
  gemm_ref(c.M, c.N, c.K, A, B, c_ref.data(), ldc, c.beta);
  const bool bf16 = c.da == DType::BF16 || c.db == DType::BF16;
  const double tol = bf16 ? 1e-4 : 1e-5;
  const std::string what = strformat("M=%lld N=%lld K=%lld ta=%d tb=%d pad=%lld beta=%g %s x %s",
                                     (long long)c.M, (long long)c.N, (long long)c.K, c.ta, c.tb,
                                     (long long)c.pad, c.beta, dtype_name(c.da), dtype_name(c.db));
  EXPECT_LE(test::max_rel_excess(c_fast.data(), c_ref.data(), c_fast.size(),
                                 tol * std::sqrt(double(c.K) + 1), tol),
            1.0)
      << what;
  // Padding columns of C are untouched.
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = c.N; j < ldc; ++j) ASSERT_EQ(c_fast[i * ldc + j], c0[i * ldc + j]) << what;
}

TEST(Gemm, AllTransposesPaddingBetaDtypes) {
  const int64_t sizes[][3] = {{1, 1, 1},    {3, 7, 17},  {17, 3, 7},    {63, 65, 33},
                              {64, 64, 64}, {65, 1, 63}, {1, 130, 200}, {130, 96, 1}};
  const DType dts[][2] = {{DType::F32, DType::F32},
                          {DType::BF16, DType::BF16},
                          {DType::F32, DType::BF16},
                          {DType::BF16, DType::F32}};
  uint64_t seed = 1;
  for (auto& sz : sizes)
    for (int t = 0; t < 4; ++t)
      for (int64_t pad : {0, 5})
        for (float beta : {0.0f, 1.0f, 0.5f})
          for (auto& dt : dts) {
            if (beta == 0.5f && dt[0] != dt[1]) continue;  // beta handling is dtype-independent
            run_case({sz[0], sz[1], sz[2], bool(t & 1), bool(t & 2), pad, beta, dt[0], dt[1]},
                     seed++);
          }
}

// gemm_bf16 on f32 operands multiplies their bf16 roundings: it equals gemm_ref on rounded copies
// (tolerance of the bf16 cases above: only the summation order differs), on the AMX tiles and on
// oneDNN's avx512_bf16 path alike.
// The engines behind gemm_bf16 (kernels/cpu/gemm_bf16.h): AMX tiles, the vdpbf16ps micro-kernel,
// oneDNN. select() switches to one and says whether this CPU has it.
struct Bf16Path {
  const char* name;
  bool select() const {
    const bool amx = std::strcmp(name, "amx") == 0;
    if (amx) unsetenv("LLADA_GEMM_BF16");
    else setenv("LLADA_GEMM_BF16", name, 1);
    set_packed_amx(amx);
    const cpu::Bf16Engine want = amx ? cpu::Bf16Engine::Amx
                                 : std::strcmp(name, "dot") == 0 ? cpu::Bf16Engine::Dot
                                                                 : cpu::Bf16Engine::None;
    return cpu::bf16_engine() == want;
  }
};
constexpr Bf16Path kBf16Paths[] = {{"amx"}, {"dot"}, {"onednn"}};
void restore_bf16_path() {
  unsetenv("LLADA_GEMM_BF16");
  set_packed_amx(true);
}

TEST(Gemm, Bf16ProductsOfF32OperandsOnEveryPath) {
  const int64_t sizes[][3] = {{1, 1, 1},   {3, 7, 17},  {17, 3, 7},     {63, 65, 33},
                              {65, 1, 63}, {40, 33, 70}, {1, 130, 200}, {130, 96, 1},
                              {150, 70, 97}};
  uint64_t seed = 900;
  for (const Bf16Path& path : kBf16Paths) {
    if (!path.select()) continue;
    for (auto& sz : sizes)
      for (int t = 0; t < 4; ++t)
        for (float beta : {0.0f, 1.0f}) {
          const int64_t M = sz[0], N = sz[1], K = sz[2], pad = 3;
          const bool ta = t & 1, tb = t & 2;
          const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
          auto a = randn(size_t((ta ? K : M) * lda), seed++), b = randn(size_t((tb ? N : K) * ldb), seed++);
          auto ar = a, br = b;
          for (float& x : ar) x = bf16_to_f32(f32_to_bf16(x));
          for (float& x : br) x = bf16_to_f32(f32_to_bf16(x));
          auto c = randn(size_t(M * ldc), seed++), c_ref = c;
          gemm_bf16(M, N, K, {a.data(), DType::F32, lda, ta}, {b.data(), DType::F32, ldb, tb}, c.data(),
                    ldc, beta);
          gemm_ref(M, N, K, {ar.data(), DType::F32, lda, ta}, {br.data(), DType::F32, ldb, tb},
                   c_ref.data(), ldc, beta);
          EXPECT_LE(test::max_rel_excess(c.data(), c_ref.data(), c.size(), 1e-4 * std::sqrt(K + 1.0), 1e-4),
                    1.0)
              << path.name << " M=" << M << " N=" << N << " K=" << K << " ta=" << ta << " tb=" << tb;
        }
  }
  restore_bf16_path();
}

// With K = 1 each result is one product of two bf16 values, exact in f32: the rounding of every
// kind of input (ties to even, the largest finite values, infinities, NaN) must be the one
// f32_to_bf16 (PyTorch's) does, bit for bit. Subnormal inputs may give 0: the bf16 dot-product
// instructions (AMX tdpbf16ps, AVX-512 vdpbf16ps) treat them as zero by definition.
TEST(Gemm, Bf16RoundingIsRoundToNearestEven) {
  const float vals[] = {1.0f, 1.00390625f /* tie: 1 + 2^-8, to even 1 */, 1.01171875f /* tie up */,
                        -2.3456789f, 3.4028235e38f, 1e-40f, -7.1e-39f,
                        std::numeric_limits<float>::infinity(), 0.1f, 65504.f, 1.0f + 1e-7f,
                        std::numeric_limits<float>::quiet_NaN()};
  const int64_t n = int64_t(sizeof(vals) / sizeof(vals[0]));
  std::vector<float> ones(size_t(n), 1.0f);
  for (const Bf16Path& path : kBf16Paths) {
    if (!path.select()) continue;
    std::vector<float> c(size_t(n * n));
    // C[i][j] = vals[i] * 1 (column of A times a row of ones): the rounding of A alone.
    gemm_bf16(n, n, 1, {vals, DType::F32, 1}, {ones.data(), DType::F32, n}, c.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const float want = bf16_to_f32(f32_to_bf16(vals[i]));
      for (int64_t j = 0; j < n; ++j) {
        uint32_t got_bits, want_bits;
        std::memcpy(&got_bits, &c[size_t(i * n + j)], 4);
        std::memcpy(&want_bits, &want, 4);
        if (std::fpclassify(want) == FP_SUBNORMAL && got_bits == 0) continue;
        if (std::isnan(want)) {
          EXPECT_TRUE(std::isnan(c[size_t(i * n + j)])) << path.name << " value " << i;
        } else {
          EXPECT_EQ(got_bits, want_bits) << path.name << " value " << vals[i];
        }
      }
    }
  }
  restore_bf16_path();
}

TEST(Gemm, TransformerShapes) {
  // x·Wᵀ, dy·W and dyᵀ·x at a small transformer size, f32 and bf16 weights.
  for (DType wt : {DType::F32, DType::BF16}) {
    run_case({160, 256, 128, false, true, 0, 0.0f, DType::F32, wt}, 11);
    run_case({160, 128, 256, false, false, 0, 0.0f, DType::F32, wt}, 12);
    run_case({256, 128, 160, true, false, 0, 1.0f, DType::F32, DType::F32}, 13);
  }
}

TEST(Gemm, LmHeadWidth) {
  // LLaDA-8B's vocabulary as N (the LM head), small M, both weight dtypes.
  run_case({2, 126464, 16, false, true, 0, 0.0f, DType::F32, DType::BF16}, 21);
  run_case({3, 126464, 8, false, true, 0, 0.0f, DType::F32, DType::F32}, 22);
}

TEST(Gemm, ZeroK) {
  std::vector<float> C = {1, 2, 3, 4};
  float dummy = 0;
  gemm(2, 2, 0, Operand{&dummy, DType::F32, 1}, Operand{&dummy, DType::F32, 2}, C.data(), 2, 0.5f);
  EXPECT_EQ(C, (std::vector<float>{0.5f, 1, 1.5f, 2}));
  gemm(2, 2, 0, Operand{&dummy, DType::F32, 1}, Operand{&dummy, DType::F32, 2}, C.data(), 2, 0.0f);
  EXPECT_EQ(C, (std::vector<float>{0, 0, 0, 0}));
}

TEST(Gemm, InsideParallelRegionMatchesOutside) {
  const int64_t M = 37, N = 29, K = 41;
  auto a = randn(M * K, 5), b = randn(K * N, 6);
  std::vector<float> ref(M * N);
  gemm(M, N, K, Operand{a.data(), DType::F32, K}, Operand{b.data(), DType::F32, N}, ref.data(), N);
  std::vector<std::vector<float>> outs(8, std::vector<float>(M * N));
#pragma omp parallel for num_threads(2)
  for (int i = 0; i < 8; ++i)
    gemm(M, N, K, Operand{a.data(), DType::F32, K}, Operand{b.data(), DType::F32, N},
         outs[i].data(), N);
  for (auto& o : outs) EXPECT_LE(test::max_abs_diff(o.data(), ref.data(), o.size()), 1e-4);
}

// A product has the same bits on any thread count (`llada eval` promises the same numbers on any
// number of threads): oneDNN's jit gemm, its f32 kernel on CPUs without AVX-512, sums differently
// on different thread counts for some shapes, so gemm runs it in fixed tiles. The shapes are those
// of a small model's 16-token perplexity window (the head's among them), a training-size product,
// and tiles cut at odd places, in every transpose; each also equals the reference.
TEST(Gemm, SameBitsOnAnyThreadCount) {
  const int64_t shapes[][3] = {{15, 6144, 64}, {16, 64, 128},   {16, 128, 64},
                               {16, 256, 704}, {300, 260, 200}, {512, 704, 256}};
  const int saved = omp_get_max_threads();
  for (auto& s : shapes)
    for (int t = 0; t < 4; ++t)
      for (DType dt : {DType::F32, DType::BF16}) {
        const int64_t M = s[0], N = s[1], K = s[2];
        const bool ta = t & 1, tb = t & 2;
        auto af = randn(size_t(M * K), 11 + t), bf = randn(size_t(K * N), 12 + t);
        std::vector<bf16_t> ab(af.size()), bb(bf.size());
        for (size_t i = 0; i < af.size(); ++i) ab[i] = f32_to_bf16(af[i]);
        for (size_t i = 0; i < bf.size(); ++i) bb[i] = f32_to_bf16(bf[i]);
        const bool f32 = dt == DType::F32;
        Operand A{f32 ? (const void*)af.data() : (const void*)ab.data(), dt, ta ? M : K, ta};
        Operand B{f32 ? (const void*)bf.data() : (const void*)bb.data(), dt, tb ? K : N, tb};
        std::vector<float> ref(size_t(M * N));
        gemm_ref(M, N, K, A, B, ref.data(), N, 0.0f);
        std::vector<std::vector<float>> outs;
        for (int threads : {1, 2, 3}) {
          omp_set_num_threads(threads);
          outs.emplace_back(size_t(M * N));
          gemm(M, N, K, A, B, outs.back().data(), N);
        }
        omp_set_num_threads(saved);
        const std::string what = strformat("M=%lld N=%lld K=%lld ta=%d tb=%d %s", (long long)M,
                                           (long long)N, (long long)K, ta, tb, dtype_name(dt));
        for (size_t i = 1; i < outs.size(); ++i)
          EXPECT_EQ(std::memcmp(outs[i].data(), outs[0].data(), outs[0].size() * sizeof(float)), 0)
              << what << ": " << i + 1 << " threads differ from 1";
        EXPECT_LE(test::max_rel_excess(outs[0].data(), ref.data(), ref.size(),
                                       1e-4 * std::sqrt(double(K) + 1), 1e-4),
                  1.0)
            << what;
      }
}

TEST(Gemm, RejectsBadLeadingDimension) {
  std::vector<float> a(16), c(16);
  EXPECT_THROW(gemm(4, 4, 4, Operand{a.data(), DType::F32, 3}, Operand{a.data(), DType::F32, 4},
                    c.data(), 4),
               Error);
  EXPECT_THROW(gemm(4, 4, 4, Operand{a.data(), DType::F16, 4}, Operand{a.data(), DType::F32, 4},
                    c.data(), 4),
               Error);
}

TEST(Gemm, BackendName) {
  EXPECT_EQ(std::string(gemm_backend_name()).rfind("onednn 2.", 0), 0u) << gemm_backend_name();
}

}  // namespace
}  // namespace llada::kernels
