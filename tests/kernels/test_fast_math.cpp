// exp_fast (kernels/cpu/fast_math.h), the exp under every softmax: accuracy over the whole
// finite range against double-precision exp, and its saturation at both ends.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/fast_math.h"

namespace llada::kernels {
namespace {

TEST(FastMath, ExpRelativeErrorWithinFourUlp) {
  double worst = 0.0;
  for (float x = -87.0f; x <= 88.0f; x += 0.000731f) {
    const double want = std::exp(double(x));
    const double rel = std::fabs(double(cpu::exp_fast(x)) - want) / want;
    worst = std::max(worst, rel);
  }
  EXPECT_LE(worst, 4 * 5.97e-8);  // 4 ulp of float at 1.0
}

TEST(FastMath, ExpSaturates) {
  EXPECT_EQ(cpu::exp_fast(-INFINITY), 0.0f);
  EXPECT_EQ(cpu::exp_fast(-100.0f), 0.0f);
  EXPECT_EQ(cpu::exp_fast(0.0f), 1.0f);
  EXPECT_TRUE(std::isfinite(cpu::exp_fast(1000.0f)));
  EXPECT_GT(cpu::exp_fast(1000.0f), 1e38f);
}

// The float64 softmax sums of the samplers' confidences against libm exp, term by term summed in
// long double: the vector exp is within a few ulp, so the sums agree to 1e-14 relative. Covers
// the vector body and the scalar tail (n not a multiple of 8), -inf entries and deep underflow.
TEST(FastMath, ExpSumsF64MatchLibm) {
  for (int64_t n : {1, 7, 8, 9, 1000, 6147}) {
    std::vector<float> row(static_cast<size_t>(n));
    for (int64_t v = 0; v < n; ++v) row[size_t(v)] = float(std::sin(0.37 * double(v)) * 30.0 - 12.0);
    if (n > 8) row[3] = -INFINITY;
    if (n > 9) row[5] = -800.0f;
    float mx = -INFINITY;
    for (float x : row) mx = std::max(mx, x);
    long double want = 0, want_w = 0;
    for (float x : row) {
      const double z = double(x) - double(mx);
      const double e = std::exp(z);
      want += e;
      if (e > 0) want_w += (long double)e * z;
    }
    double sum = 0, wsum = 0;
    cpu::exp_sums_f64(row.data(), n, mx, &sum, &wsum);
    EXPECT_NEAR(sum, double(want), 1e-14 * double(want)) << n;
    EXPECT_NEAR(wsum, double(want_w), 1e-13 * std::fabs(double(want_w)) + 1e-300) << n;
  }
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
TEST(FastMath, VectorExpF64WithinFourUlp) {
  double worst = 0.0;
  for (double z = -708.0; z <= 0.0; z += 0.0137) {
    alignas(64) double out[8];
    _mm512_store_pd(out, cpu::exp_f64x8_nonpos(_mm512_set1_pd(z)));
    worst = std::max(worst, std::fabs(out[0] - std::exp(z)) / std::exp(z));
  }
  EXPECT_LE(worst, 4 * 2.22e-16);
  alignas(64) double out[8];
  _mm512_store_pd(out, cpu::exp_f64x8_nonpos(_mm512_set1_pd(-INFINITY)));
  EXPECT_EQ(out[0], 0.0);
}
#endif

}  // namespace
}  // namespace llada::kernels
