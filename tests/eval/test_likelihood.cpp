#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "eval/likelihood.h"
#include "model/weights.h"

using namespace llada;

TEST(Likelihood, MaskCountsMatchTorchLinspaceRound) {
  // Expected values printed by torch 1.13:
  //   x = torch.round(torch.linspace(k, k + (b-1)*(A/b), b)).long(); ((x - 1) % A) + 1
  EXPECT_EQ(likelihood_mask_counts(3, 10, 16),
            (std::vector<int64_t>{3, 4, 4, 5, 6, 6, 7, 7, 8, 9, 9, 10, 10, 1, 2, 2}));
  EXPECT_EQ(likelihood_mask_counts(1, 7, 4), (std::vector<int64_t>{1, 3, 4, 6}));
  EXPECT_EQ(likelihood_mask_counts(5, 5, 16),
            (std::vector<int64_t>{5, 5, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5}));
  EXPECT_EQ(likelihood_mask_counts(2, 37, 16),
            (std::vector<int64_t>{2, 4, 7, 9, 11, 14, 16, 18, 20, 23, 25, 27, 30, 32, 34, 37}));
}

namespace {

Model tiny_model(uint64_t seed, bool causal = false) {
  Model m;
  m.cfg.d_model = 32;
  m.cfg.n_layers = 2;
  m.cfg.n_heads = 4;
  m.cfg.n_kv_heads = 2;
  m.cfg.mlp_hidden_size = 48;
  m.cfg.vocab_size = 20;
  m.cfg.embedding_size = 20;
  m.cfg.max_sequence_length = 64;
  m.cfg.mask_token_id = 19;
  m.cfg.eos_token_id = 18;
  m.cfg.pad_token_id = 18;
  m.cfg.causal = causal;
  m.w = Weights::allocate(m.cfg, DType::F32);
  init_weights(m.w, m.cfg, seed, 0.3f);
  return m;
}

double log_softmax_at(const float* row, int64_t V, int32_t t) {
  double mx = row[0], s = 0;
  for (int64_t j = 0; j < V; ++j) mx = std::max(mx, double(row[j]));
  for (int64_t j = 0; j < V; ++j) s += std::exp(double(row[j]) - mx);
  return double(row[t]) - mx - std::log(s);
}

}  // namespace

TEST(Likelihood, SingleTokenAnswerIsExactLogSoftmax) {
  Model m = tiny_model(1);
  Workspace ws;
  std::vector<int32_t> prompt = {1, 5, 7}, answer = {9};
  LikelihoodOptions o;
  o.mask_id = 19;
  LikelihoodResult r = estimate_log_likelihood(m, prompt, answer, o, ws);
  std::vector<int32_t> ids = {1, 5, 7, 19};
  int32_t row = 3;
  ForwardArgs fa;
  fa.T = 4;
  fa.ids = ids.data();
  fa.rows = &row;
  fa.n_rows = 1;
  const float* lg = model_forward(m, fa, ws);
  EXPECT_NEAR(r.log_likelihood, log_softmax_at(lg, 20, 9), 1e-5);
  EXPECT_EQ(r.model_calls, 1);
}

TEST(Likelihood, ConvergesToTheExactBoundForATwoTokenAnswer) {
  // With A = 2 every mini-batch row has m = 1 or m = 2; enumerate every mask set to get the
  // exact expectation of the estimator and check the Monte-Carlo mean lands on it.
  Model m = tiny_model(2);
  Workspace ws;
  std::vector<int32_t> prompt = {3, 4, 5}, answer = {6, 2};
  auto ce_sum = [&](std::vector<int> masked_positions) {
    std::vector<int32_t> ids = {3, 4, 5, 6, 2};
    std::vector<int32_t> rows;
    for (int p : masked_positions) {
      ids[size_t(3 + p)] = 19;
      rows.push_back(3 + p);
    }
    ForwardArgs fa;
    fa.T = 5;
    fa.ids = ids.data();
    fa.rows = rows.data();
    fa.n_rows = int64_t(rows.size());
    const float* lg = model_forward(m, fa, ws);
    double s = 0;
    for (size_t i = 0; i < rows.size(); ++i)
      s -= log_softmax_at(lg + i * 20, 20, answer[size_t(masked_positions[i])]);
    return s;
  };
  // k is uniform in {1, 2}; the fraction of rows with m = 1 follows from the mask counts, so
  // E[loss] = f1 * (mean over single masks of CE / (1/2)) + (1 - f1) * (CE of both / 1).
  double f1 = 0;
  for (int64_t k : {1, 2})
    for (int64_t mc : likelihood_mask_counts(k, 2, 16)) f1 += (mc == 1) / 32.0;
  double single = (ce_sum({0}) + ce_sum({1})) / 2 / 0.5;
  double both = ce_sum({0, 1});
  double exact = -(f1 * single + (1 - f1) * both);
  LikelihoodOptions o;
  o.mask_id = 19;
  o.mc_num = 2048;
  o.batch = 16;
  o.seed = 5;
  LikelihoodResult r = estimate_log_likelihood(m, prompt, answer, o, ws);
  EXPECT_GT(r.std_error, 0);
  EXPECT_NEAR(r.log_likelihood, exact, 4 * r.std_error + 1e-6)
      << "estimate " << r.log_likelihood << " +- " << r.std_error << " exact " << exact;
}

TEST(Likelihood, AutoregressiveIsSumOfNextTokenLogProbs) {
  Model m = tiny_model(3, /*causal=*/true);
  Workspace ws;
  std::vector<int32_t> prompt = {1, 2}, answer = {3, 4, 5};
  double ll = autoregressive_log_likelihood(m, prompt, answer, ws);
  std::vector<int32_t> ids = {1, 2, 3, 4, 5};
  ForwardArgs fa;
  fa.T = 5;
  fa.ids = ids.data();
  fa.causal = true;
  const float* lg = model_forward(m, fa, ws);
  double expect = 0;
  for (int t = 0; t < 3; ++t) expect += log_softmax_at(lg + (1 + t) * 20, 20, answer[size_t(t)]);
  EXPECT_NEAR(ll, expect, 1e-5);
  // Causality: changing a later token never changes an earlier position's logits.
  std::vector<float> before(lg, lg + 5 * 20);
  ids[4] = 11;
  lg = model_forward(m, fa, ws);
  for (int j = 0; j < 4 * 20; ++j) EXPECT_EQ(before[size_t(j)], lg[j]);
}

TEST(Likelihood, RejectsBadOptions) {
  Model m = tiny_model(4);
  Workspace ws;
  LikelihoodOptions o;
  o.mask_id = 19;
  o.mc_num = 10;
  o.batch = 4;
  EXPECT_THROW(estimate_log_likelihood(m, {1}, {2, 3}, o, ws), Error);
  o.mc_num = 8;
  EXPECT_THROW(estimate_log_likelihood(m, {1}, {}, o, ws), Error);
}

TEST(Likelihood, FewerSamplesThanABatchIsOneMiniBatch) {
  Model m = tiny_model(4);
  Workspace ws;
  LikelihoodOptions o;
  o.mask_id = 19;
  o.mc_num = 4;
  o.batch = 16;
  LikelihoodResult r = estimate_log_likelihood(m, {1, 2}, {3, 4, 5}, o, ws);
  EXPECT_EQ(r.samples, 4);
  EXPECT_EQ(r.model_calls, 1);
  o.mc_num = 6;  // not a multiple of the (clamped) batch of 4... but 6 < 16 makes the batch 6
  EXPECT_NO_THROW(estimate_log_likelihood(m, {1, 2}, {3, 4, 5}, o, ws));
}

TEST(Likelihood, StandardErrorMatchesTheSpreadOverSeeds) {
  // The reported error must describe how far an estimate falls from the truth: for one mini-batch
  // (where the spread of mini-batch means says nothing), for a few and for many.
  Model m = tiny_model(6);
  Workspace ws;
  const std::vector<int32_t> prompt = {1, 2, 3}, answer = {4, 5, 6, 7, 8, 9};
  LikelihoodOptions o;
  o.mask_id = 19;
  o.batch = 16;
  o.mc_num = 4096;  // error ~0.05, a quarter of the smallest error checked
  o.seed = 1;
  const LikelihoodResult truth = estimate_log_likelihood(m, prompt, answer, o, ws);
  for (int64_t mc : {16, 32, 128}) {
    o.mc_num = mc;
    const int seeds = 100;
    double sum = 0, sum2 = 0, se = 0;
    int covered = 0;
    for (int s = 0; s < seeds; ++s) {
      o.seed = uint64_t(1000 + s);
      LikelihoodResult r = estimate_log_likelihood(m, prompt, answer, o, ws);
      sum += r.log_likelihood;
      sum2 += r.log_likelihood * r.log_likelihood;
      se += r.std_error / seeds;
      covered += std::fabs(r.log_likelihood - truth.log_likelihood) <= 2 * r.std_error;
    }
    const double sd = std::sqrt((sum2 - sum * sum / seeds) / (seeds - 1));
    std::printf("mc_num %lld: mean reported error %.4f, spread over seeds %.4f, 2-error intervals "
                "holding the truth %d/%d\n", (long long)mc, se, sd, covered, seeds);
    // Nominal coverage is ~95%; heavy-tailed rows (a one-token mask weighs A times its loss) make
    // small samples' errors a little low, and 100 seeds carry ~3% noise.
    EXPECT_GE(covered, 82) << "mc_num " << mc;
    EXPECT_GE(se, 0.75 * sd) << "mc_num " << mc;
    EXPECT_LE(se, 3.0 * sd) << "mc_num " << mc;
  }
}
