#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "eval/perplexity.h"

using namespace llada;
using namespace llada::eval;

TEST(Perplexity, WindowsCoverTheTokensAndDropALoneLastToken) {
  std::vector<int32_t> t(10);
  for (int i = 0; i < 10; ++i) t[size_t(i)] = i;
  auto w = perplexity_windows(t, 4, 0);  // 0-3, 4-7, 8-9
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[2], (std::vector<int32_t>{8, 9}));
  t.push_back(10);  // 0-3, 4-7, 8-10
  EXPECT_EQ(perplexity_windows(t, 4, 0).back().size(), 3u);
  t.push_back(11);
  t.push_back(12);  // 12 is alone in the fourth window: nothing to score, dropped
  EXPECT_EQ(perplexity_windows(t, 4, 0).size(), 3u);
  EXPECT_EQ(perplexity_windows(t, 4, 2).size(), 2u);
  EXPECT_THROW(perplexity_windows(t, 1, 0), Error);
}

TEST(Perplexity, SummaryIsARatioOfSumsWithItsStandardError) {
  std::vector<WindowScore> s = {{30, 0, 10}, {50, 0, 10}, {10, 0, 5}};
  PerplexitySummary p = summarize(s);
  EXPECT_DOUBLE_EQ(p.nll_per_token, 90.0 / 25.0);
  EXPECT_EQ(p.tokens, 25);
  EXPECT_EQ(p.windows, 3);
  // Residuals nll - r * tokens: -6, 14, -8 -> sqrt(296 / 6) / (25 / 3).
  EXPECT_NEAR(p.std_error, std::sqrt(296.0 / 6.0) / (25.0 / 3.0), 1e-12);
  // One window: only its own Monte-Carlo error is known.
  EXPECT_NEAR(summarize({{20, 4, 8}}).std_error, 0.5, 1e-12);
}
