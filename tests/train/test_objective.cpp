// The objectives' masking and weights (spec sections 2 and 3), with no model involved.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "train/objective.h"

using namespace llada;
using namespace llada::train;

namespace {
constexpr int32_t kMask = 99, kEos = 98;
std::vector<int32_t> ramp(int64_t n) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = int32_t(i % 50);
  return v;
}
}  // namespace

TEST(Diffusion, MasksWithProbabilityPAndWeightsOneOverPBL) {
  const int64_t B = 4, L = 4000;
  auto clean = ramp(B * L);
  DiffusionOptions o;
  o.mask_id = kMask;
  o.random_length_prob = 0;
  Rng rng(1);
  TrainBatch tb;
  make_diffusion_batch(clean.data(), B, L, o, rng, tb);
  ASSERT_EQ(tb.T, L);
  ASSERT_EQ(tb.rows.size(), tb.targets.size());
  std::vector<int64_t> masked(B, 0);
  size_t r = 0;
  for (int64_t i = 0; i < B * L; ++i) {
    if (r < tb.rows.size() && tb.rows[r] == i) {
      EXPECT_EQ(tb.ids[size_t(i)], kMask);
      EXPECT_EQ(tb.targets[r], clean[size_t(i)]);
      const int64_t b = i / L;
      EXPECT_FLOAT_EQ(tb.weights[r], float(1.0 / (double(tb.p_mask[size_t(b)]) * B * L)));
      ++masked[size_t(b)];
      ++r;
    } else {
      EXPECT_EQ(tb.ids[size_t(i)], clean[size_t(i)]) << i;
    }
  }
  EXPECT_EQ(r, tb.rows.size());
  for (int64_t b = 0; b < B; ++b) {
    const double p = tb.p_mask[size_t(b)];
    EXPECT_GE(p, 1e-3);
    EXPECT_LE(p, 1.0);
    // Binomial(L, p): 5 standard deviations.
    EXPECT_NEAR(double(masked[size_t(b)]) / L, p, 5 * std::sqrt(p * (1 - p) / L) + 1e-9) << b;
  }
}

TEST(Diffusion, LossEstimatorIsUnbiased) {
  // With CE = 1 everywhere the loss is sum(weights); its expectation is exactly 1 (the 1/p weighting).
  const int64_t B = 8, L = 32;
  auto clean = ramp(B * L);
  DiffusionOptions o;
  o.mask_id = kMask;
  Rng rng(2);
  TrainBatch tb;
  double total = 0;
  const int n = 4000;
  for (int k = 0; k < n; ++k) {
    o.stratified_t = (k % 2) == 1;
    make_diffusion_batch(clean.data(), B, L, o, rng, tb);
    total += std::accumulate(tb.weights.begin(), tb.weights.end(), 0.0);
  }
  EXPECT_NEAR(total / n, 1.0, 0.03);
}

TEST(Diffusion, StratifiedTCoversEveryStratum) {
  const int64_t B = 16, L = 8;
  auto clean = ramp(B * L);
  DiffusionOptions o;
  o.mask_id = kMask;
  o.random_length_prob = 0;
  o.stratified_t = true;
  Rng rng(3);
  TrainBatch tb;
  make_diffusion_batch(clean.data(), B, L, o, rng, tb);
  for (int64_t i = 0; i < B; ++i) {
    const double t = (tb.p_mask[size_t(i)] - 1e-3) / (1 - 1e-3);
    EXPECT_GE(t, double(i) / B - 1e-6);
    EXPECT_LT(t, double(i + 1) / B + 1e-6);
  }
}

TEST(Diffusion, RandomLengthTruncatesEveryRowAndRenormalises) {
  const int64_t B = 3, L = 64;
  auto clean = ramp(B * L);
  DiffusionOptions o;
  o.mask_id = kMask;
  o.random_length_prob = 1.0;
  Rng rng(4);
  TrainBatch tb;
  bool saw_short = false;
  for (int k = 0; k < 20; ++k) {
    make_diffusion_batch(clean.data(), B, L, o, rng, tb);
    ASSERT_GE(tb.T, 1);
    ASSERT_LE(tb.T, L);
    saw_short |= tb.T < L;
    ASSERT_EQ(int64_t(tb.ids.size()), B * tb.T);
    for (size_t r = 0; r < tb.rows.size(); ++r) {
      const int64_t b = tb.rows[r] / tb.T, t = tb.rows[r] % tb.T;
      EXPECT_EQ(tb.targets[r], clean[size_t(b * L + t)]);
      EXPECT_FLOAT_EQ(tb.weights[r], float(1.0 / (double(tb.p_mask[size_t(b)]) * B * tb.T)));
    }
  }
  EXPECT_TRUE(saw_short);
  // At the default 1% almost every batch keeps its full length.
  o.random_length_prob = 0.01;
  int full = 0;
  for (int k = 0; k < 1000; ++k) {
    make_diffusion_batch(clean.data(), B, L, o, rng, tb);
    full += tb.T == L;
  }
  EXPECT_GE(full, 970);
  EXPECT_LT(full, 1000);
}

TEST(Diffusion, SameSeedSameBatch) {
  const int64_t B = 2, L = 100;
  auto clean = ramp(B * L);
  DiffusionOptions o;
  o.mask_id = kMask;
  Rng a(5), b(5);
  TrainBatch x, y;
  make_diffusion_batch(clean.data(), B, L, o, a, x);
  make_diffusion_batch(clean.data(), B, L, o, b, y);
  EXPECT_EQ(x.ids, y.ids);
  EXPECT_EQ(x.rows, y.rows);
  EXPECT_EQ(x.weights, y.weights);
}

TEST(Sft, NeverMasksAPromptTokenAndPadsWithEos) {
  const int64_t T = 24;
  std::vector<int32_t> a = {1, 2, 3, 4, 5, 6, 7, kEos};  // prompt 5, response 3
  std::vector<int32_t> b = {10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, kEos};  // prompt 2
  SftSample s[2] = {{a.data(), int64_t(a.size()), 5}, {b.data(), int64_t(b.size()), 2}};
  SftOptions o;
  o.mask_id = kMask;
  o.eos_id = kEos;
  Rng rng(6);
  TrainBatch tb;
  int64_t masked_eos_targets = 0;
  for (int k = 0; k < 500; ++k) {
    make_sft_batch(s, 2, T, o, rng, tb);
    ASSERT_EQ(tb.T, T);
    for (int64_t i = 0; i < 5; ++i) ASSERT_EQ(tb.ids[size_t(i)], a[size_t(i)]) << "prompt masked";
    for (int64_t i = 0; i < 2; ++i) ASSERT_EQ(tb.ids[size_t(T + i)], b[size_t(i)]) << "prompt masked";
    for (size_t r = 0; r < tb.rows.size(); ++r) {
      const int64_t row = tb.rows[r] / T, t = tb.rows[r] % T;
      const SftSample& x = s[row];
      ASSERT_GE(t, x.prompt_len);
      const int32_t want = t < x.len ? x.ids[t] : kEos;
      ASSERT_EQ(tb.targets[r], want);
      masked_eos_targets += t >= x.len;
      const double answer_len = double(T - x.prompt_len);
      ASSERT_FLOAT_EQ(tb.weights[r], float(1.0 / (double(tb.p_mask[size_t(row)]) * answer_len * 2)));
    }
    // Unmasked answer positions hold the clean token or the EOS padding.
    for (int64_t t = 8; t < T; ++t) ASSERT_TRUE(tb.ids[size_t(t)] == kEos || tb.ids[size_t(t)] == kMask);
  }
  EXPECT_GT(masked_eos_targets, 0);
}

TEST(Sft, PromptMaskingForGuidanceMasksTheWholePromptButNeverTargetsIt) {
  const int64_t T = 10;
  std::vector<int32_t> a = {1, 2, 3, 4, kEos};
  SftSample s{a.data(), 5, 3};
  SftOptions o;
  o.mask_id = kMask;
  o.eos_id = kEos;
  o.prompt_mask_prob = 1.0;
  Rng rng(7);
  TrainBatch tb;
  make_sft_batch(&s, 1, T, o, rng, tb);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(tb.ids[size_t(i)], kMask);
  for (int32_t r : tb.rows) EXPECT_GE(r, 3);
}

TEST(Sft, RejectsSamplesThatDoNotFit) {
  std::vector<int32_t> a(12, 1);
  SftSample s{a.data(), 12, 3};
  SftOptions o;
  o.mask_id = kMask;
  o.eos_id = kEos;
  Rng rng(8);
  TrainBatch tb;
  EXPECT_THROW(make_sft_batch(&s, 1, 10, o, rng, tb), Error);
  SftSample p{a.data(), 10, 10};
  EXPECT_THROW(make_sft_batch(&p, 1, 10, o, rng, tb), Error);
}

TEST(Ar, NextTokenTargetsCausalAndMeanWeights) {
  const int64_t B = 2, L = 5;
  std::vector<int32_t> clean = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  TrainBatch tb;
  make_ar_batch(clean.data(), B, L, tb);
  EXPECT_TRUE(tb.causal);
  EXPECT_EQ(tb.ids, clean);
  ASSERT_EQ(tb.rows.size(), 8u);
  EXPECT_EQ(tb.rows, (std::vector<int32_t>{0, 1, 2, 3, 5, 6, 7, 8}));
  EXPECT_EQ(tb.targets, (std::vector<int32_t>{2, 3, 4, 5, 7, 8, 9, 10}));
  for (float w : tb.weights) EXPECT_FLOAT_EQ(w, 1.0f / 8);
}

TEST(Ar, SftPredictsOnlyResponseTokens) {
  std::vector<int32_t> a = {1, 2, 3, 4, kEos};  // prompt 3
  SftSample s{a.data(), 5, 3};
  TrainBatch tb;
  make_ar_sft_batch(&s, 1, 7, kEos, tb);
  EXPECT_EQ(tb.rows, (std::vector<int32_t>{2, 3, 4, 5}));
  EXPECT_EQ(tb.targets, (std::vector<int32_t>{4, kEos, kEos, kEos}));
  for (float w : tb.weights) EXPECT_FLOAT_EQ(w, 0.25f);
}

TEST(Objective, NamesRoundTripAndUnknownFails) {
  EXPECT_EQ(objective_from_name("sft"), Objective::Sft);
  EXPECT_STREQ(objective_name(Objective::Ar), "ar");
  EXPECT_THROW(objective_from_name("mlm"), Error);
}
