// exp_fast (kernels/cpu/fast_math.h), the exp under every softmax: accuracy over the whole
// finite range against double-precision exp, and its saturation at both ends.
#include <gtest/gtest.h>

#include <cmath>

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

}  // namespace
}  // namespace llada::kernels
