// The per-position rules: schedules, the EOS switches (with the reference's aliasing quirk), the
// confidence rules, ranking, threshold and factor counts; and the statistics of the stochastic
// parts (Gumbel-max sampling against the softmax, random remasking against uniform).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "sample/generate.h"
#include "sample/rules.h"

namespace llada::sample {
namespace {

std::vector<double> softmax(const std::vector<float>& l, double T = 1.0) {
  double mx = -1e300;
  for (float v : l) mx = std::max(mx, double(v) / T);
  std::vector<double> p(l.size());
  double s = 0;
  for (size_t i = 0; i < l.size(); ++i) s += p[i] = std::exp(double(l[i]) / T - mx);
  for (auto& v : p) v /= s;
  return p;
}

double chi_square(const std::vector<int64_t>& counts, const std::vector<double>& p) {
  const double n = double(std::accumulate(counts.begin(), counts.end(), int64_t(0)));
  double x2 = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double e = n * p[i];
    x2 += (double(counts[i]) - e) * (double(counts[i]) - e) / e;
  }
  return x2;
}

TEST(SampleRules, TransferSchedule) {
  EXPECT_EQ(transfer_schedule(10, 4), (std::vector<int64_t>{3, 3, 2, 2}));
  EXPECT_EQ(transfer_schedule(32, 32), std::vector<int64_t>(32, 1));
  EXPECT_EQ(transfer_schedule(3, 5), (std::vector<int64_t>{1, 1, 1, 0, 0}));
  EXPECT_EQ(transfer_schedule(0, 2), (std::vector<int64_t>{0, 0}));
}

TEST(SampleRules, GreedyPredictionAndConfidence) {
  RowRule r;
  r.vocab = 5;
  r.eos = 1;
  r.eot = 2;
  Rng rng(1);
  std::vector<float> l = {0.5f, 3.0f, 2.0f, 1.0f, 3.0f};
  auto p = predict_row(std::vector<float>(l).data(), r, rng);
  EXPECT_EQ(p.token, 1);  // first of the tied maxima, like torch.argmax
  EXPECT_NEAR(p.conf, softmax(l)[1], 1e-12);

  r.logits_eos_inf = true;  // EOS can no longer be predicted, nor counted in the softmax
  p = predict_row(std::vector<float>(l).data(), r, rng);
  EXPECT_EQ(p.token, 4);
  std::vector<float> l2 = l;
  l2[1] = -std::numeric_limits<float>::infinity();
  EXPECT_NEAR(p.conf, softmax(l2)[4], 1e-12);
}

TEST(SampleRules, ConfidenceSwitchAliasesEosAtTemperatureZero) {
  RowRule r;
  r.vocab = 4;
  r.eos = 1;
  r.eot = 2;
  r.confidence_eos_eot_inf = true;
  Rng rng(1);
  const std::vector<float> l = {1.0f, 0.5f, 0.25f, 2.0f};
  // Temperature 0: EOS and EoT are both removed from the confidence's softmax.
  auto p = predict_row(std::vector<float>(l).data(), r, rng);
  EXPECT_EQ(p.token, 3);
  EXPECT_NEAR(p.conf, std::exp(2.0) / (std::exp(1.0) + std::exp(2.0)), 1e-12);
  // Temperature > 0: only EoT (the noisy array gets the EOS -inf, and nobody reads it).
  r.temperature = 1e-9;  // still effectively greedy
  p = predict_row(std::vector<float>(l).data(), r, rng);
  EXPECT_EQ(p.token, 3);
  EXPECT_NEAR(p.conf, std::exp(2.0) / (std::exp(1.0) + std::exp(0.5) + std::exp(2.0)), 1e-12);
  // A predicted EoT has confidence 0 (but still ranks above every -inf non-candidate).
  const std::vector<float> le = {0.0f, 0.0f, 5.0f, 0.0f};
  r.temperature = 0;
  EXPECT_EQ(predict_row(std::vector<float>(le).data(), r, rng).conf, 0.0);
}

TEST(SampleRules, MarginAndEntropy) {
  RowRule r;
  r.vocab = 4;
  Rng rng(1);
  const std::vector<float> l = {1.0f, 3.0f, 2.0f, -1.0f};
  const auto p = softmax(l);
  r.remasking = Remasking::Margin;
  EXPECT_NEAR(predict_row(std::vector<float>(l).data(), r, rng).conf, p[1] - p[2], 1e-12);
  r.remasking = Remasking::Entropy;
  double ne = 0;
  for (double q : p) ne += q * std::log(q);
  EXPECT_NEAR(predict_row(std::vector<float>(l).data(), r, rng).conf, ne, 1e-12);
  // A sharper distribution is more confident under both rules.
  const std::vector<float> sharp = {1.0f, 9.0f, 2.0f, -1.0f};
  EXPECT_GT(predict_row(std::vector<float>(sharp).data(), r, rng).conf, ne);
}

TEST(SampleRules, GuidanceFormula) {
  const float c[2] = {1.0f, 2.0f}, u[2] = {0.5f, 3.0f};
  float g[2];
  guide_logits(g, c, u, 2.0, 2);
  EXPECT_FLOAT_EQ(g[0], 0.5f + 3.0f * 0.5f);
  EXPECT_FLOAT_EQ(g[1], 3.0f + 3.0f * -1.0f);
}

TEST(SampleRules, RankThresholdFactor) {
  std::vector<Candidate> c = {{5, 0, 0.5}, {2, 0, 0.95}, {9, 0, 0.95}, {1, 0, 0.2}, {3, 0, 0.91}};
  rank_candidates(c.data(), int64_t(c.size()));
  EXPECT_EQ(c[0].pos, 2);  // exact tie: lowest position first
  EXPECT_EQ(c[1].pos, 9);
  EXPECT_EQ(c[2].pos, 3);
  EXPECT_EQ(count_threshold(c.data(), 5, 0.9), 3);
  EXPECT_EQ(count_threshold(c.data(), 5, 0.99), 1);  // always the most confident
  EXPECT_EQ(count_threshold(c.data(), 0, 0.9), 0);
  // factor 1: thresholds 1-1/2, 1-1/3, 1-1/4, ... = 0.5, 0.667, 0.75, 0.8, 0.833
  EXPECT_EQ(count_factor(c.data(), 5, 1.0), 3);  // 0.95, 0.95, 0.91 pass; 0.5 < 0.8 stops
  std::vector<Candidate> low = {{0, 0, 0.1}, {1, 0, 0.05}};
  EXPECT_EQ(count_factor(low.data(), 2, 1.0), 1);  // at least one
}

TEST(SampleRules, GumbelMaxSamplesTheTemperedSoftmax) {
  const std::vector<float> l = {0.0f, 1.0f, -0.5f, 2.0f, 0.3f, -2.0f};
  RowRule r;
  r.vocab = int64_t(l.size());
  for (double T : {0.7, 1.0, 2.0}) {
    r.temperature = T;
    Rng rng(uint64_t(T * 100));
    std::vector<int64_t> counts(l.size(), 0);
    std::vector<float> w(l.size());
    for (int i = 0; i < 40000; ++i) {
      w = l;
      ++counts[size_t(predict_row(w.data(), r, rng).token)];
    }
    // 5 degrees of freedom: P(chi2 > 25) ~ 1.4e-4; a wrong temperature gives thousands.
    EXPECT_LT(chi_square(counts, softmax(l, T)), 25.0) << "temperature " << T;
  }
}

// A source with the same fixed logits at every position.
struct FixedSource : LogitsSource {
  std::vector<float> l;
  std::vector<float> out;
  int64_t row_width() const override { return int64_t(l.size()); }
  const float* logits(const LogitsQuery& q) override {
    out.resize(size_t(q.n_rows) * l.size());
    for (int64_t i = 0; i < q.n_rows; ++i) std::copy(l.begin(), l.end(), out.begin() + i * int64_t(l.size()));
    return out.data();
  }
};

SpecialIds special(int64_t V) {
  SpecialIds sp;
  sp.vocab = V;
  sp.mask = int32_t(V - 1);
  sp.eos = 0;
  return sp;
}

TEST(SampleRules, RandomRemaskingChoosesUniformly) {
  FixedSource f;
  f.l = {1.0f, 2.0f, 0.0f, -50.0f};  // mask id 3 far below: never the argmax
  GenerateOptions o;
  o.gen_length = 5;
  o.steps = 5;
  o.block_length = 5;
  o.remasking = Remasking::Random;
  std::vector<int64_t> first(5, 0);
  for (uint64_t seed = 0; seed < 5000; ++seed) {
    o.seed = seed;
    int64_t pos = -1;
    // Only the first step matters: the observer stops the run there.
    const GenerateResult r = generate(f, {{1, 2}}, special(4), o, [&](const StepView& v) {
      for (int64_t t = v.prompt_len; t < v.T; ++t)
        if (v.ids[t] != 3) pos = t - v.prompt_len;
      return false;
    });
    ASSERT_TRUE(r.stopped);
    ASSERT_EQ(r.stats.nfe, 1);
    ASSERT_GE(pos, 0);
    ++first[size_t(pos)];
  }
  // 4 degrees of freedom: P(chi2 > 23) ~ 1.3e-4. Low-confidence ranking would pick position 0 always.
  EXPECT_LT(chi_square(first, std::vector<double>(5, 0.2)), 23.0);
}

TEST(SampleRules, SampledTokensFollowTheSoftmaxThroughGenerate) {
  FixedSource f;
  f.l = {0.5f, 1.0f, 0.0f, 1.5f, -60.0f};  // id 4 = mask
  GenerateOptions o;
  o.gen_length = 1;
  o.steps = 1;
  o.block_length = 1;
  o.temperature = 1.0;
  std::vector<int64_t> counts(4, 0);
  for (uint64_t seed = 0; seed < 20000; ++seed) {
    o.seed = seed;
    ++counts[size_t(generate(f, {{1}}, special(5), o).tokens[0][0])];
  }
  const auto p = softmax({0.5f, 1.0f, 0.0f, 1.5f});
  EXPECT_LT(chi_square(counts, p), 22.0);  // 3 dof: P(chi2 > 22) ~ 6.5e-5
}

// The table's draws_random flag decides whether a step's rows may run in parallel; a rule that
// drew numbers without the flag would race on the shared generator. Each rule's confidence is
// run on a few rows and must leave the generator untouched exactly when the flag says so; names
// round-trip through parse_remasking and the table covers the whole enum in order.
TEST(Rules, TableMatchesWhatEachRuleDraws) {
  const std::vector<std::vector<float>> rows = {
      {0.5f, -1.0f, 2.0f, 0.25f}, {3.0f, 3.0f, -2.0f, 0.0f}, {-std::numeric_limits<float>::infinity(), 1.0f, 0.0f, 0.5f}};
  size_t i = 0;
  for (const RemaskingRule& rule : remasking_rules()) {
    SCOPED_TRACE(rule.name);
    EXPECT_EQ(size_t(rule.id), i++);
    EXPECT_EQ(parse_remasking(rule.name), rule.id);
    EXPECT_STREQ(remasking_name(rule.id), rule.name);
    EXPECT_NE(rule.help, nullptr);
    bool drew = false;
    for (const auto& l : rows) {
      Rng rng(42);
      const auto before = rng.state();
      const double c = rule.confidence(l.data(), int64_t(l.size()), 2, rng);
      EXPECT_FALSE(std::isnan(c));
      drew = drew || rng.state() != before;
    }
    EXPECT_EQ(drew, rule.draws_random) << "draws_random disagrees with what the confidence function does";
  }
  EXPECT_THROW(parse_remasking("lowest"), llada::Error);
}

}  // namespace
}  // namespace llada::sample
