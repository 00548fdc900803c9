// The sampler's loop against a literal transcription of spec section 4 (an all-positions oracle),
// on deterministic fake logits: schedules, blocks, guidance, both EOS switches, padding, infilling,
// parallel decoding, early exit, determinism and the errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "fake_source.h"
#include "sample/generate.h"

namespace llada::sample {
namespace {

using test::HashSource;
using Prompts = std::vector<std::vector<int32_t>>;

// Spec section 4 as written: logits for every position of x (and of u under cfg), conf = -inf
// outside the block / on non-masks, top schedule[s] by (conf desc, position asc). Temperature 0.
Prompts oracle(const HashSource& f, const Prompts& prompts, const SpecialIds& sp, const GenerateOptions& o) {
  const int64_t B = int64_t(prompts.size()), V = sp.vocab;
  int64_t P = 0;
  for (auto& p : prompts) P = std::max<int64_t>(P, int64_t(p.size()));
  const int64_t T = P + o.gen_length;
  const int32_t pad = sp.pad >= 0 ? sp.pad : sp.eos;
  std::vector<std::vector<int32_t>> x(B, std::vector<int32_t>(T, sp.mask));
  std::vector<std::vector<uint8_t>> km(B, std::vector<uint8_t>(T, 1));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t off = P - int64_t(prompts[b].size());
    for (int64_t t = 0; t < off; ++t) { x[b][t] = pad; km[b][t] = 0; }
    for (size_t i = 0; i < prompts[b].size(); ++i) x[b][off + i] = prompts[b][i];
  }
  std::vector<std::vector<uint8_t>> prompt_index(B, std::vector<uint8_t>(T));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) prompt_index[b][t] = x[b][t] != sp.mask;
  const int64_t nb = o.gen_length / o.block(), spb = o.total_steps() / nb;
  const float ninf = -std::numeric_limits<float>::infinity();
  std::vector<float> c(V), u(V);
  for (int64_t k = 0; k < nb; ++k) {
    const int64_t be = P + (k + 1) * o.block();
    std::vector<std::vector<int64_t>> sched(B);
    for (int64_t b = 0; b < B; ++b) {
      int64_t n = 0;
      for (int64_t t = be - o.block(); t < be; ++t) n += x[b][t] == sp.mask;
      for (int64_t s = 0; s < spb; ++s) sched[b].push_back(n / spb + (s < n % spb ? 1 : 0));
    }
    for (int64_t s = 0; s < spb; ++s) {
      for (int64_t b = 0; b < B; ++b) {
        std::vector<int32_t> xu = x[b];
        for (int64_t t = 0; t < T; ++t) if (prompt_index[b][t]) xu[t] = sp.mask;
        std::vector<std::pair<double, int64_t>> conf;
        std::vector<int32_t> x0(T);
        for (int64_t t = 0; t < T; ++t) {
          f.row(x[b].data(), km[b].data(), T, t, c.data());
          if (o.cfg_scale > 0) {
            f.row(xu.data(), km[b].data(), T, t, u.data());
            for (int64_t v = 0; v < V; ++v) c[v] = u[v] + float(o.cfg_scale + 1) * (c[v] - u[v]);
          }
          if (o.logits_eos_inf) c[sp.eos] = ninf;
          // The mask id stays a possible prediction, as in the authors' code.
          x0[t] = int32_t(std::max_element(c.begin(), c.end()) - c.begin());
          if (o.confidence_eos_eot_inf) { c[sp.eot] = ninf; c[sp.eos] = ninf; }
          double mx = *std::max_element(c.begin(), c.end()), sum = 0;
          for (float z : c) sum += std::exp(double(z) - mx);
          double p = std::exp(double(c[x0[t]]) - mx) / sum;
          if (t >= be || x[b][t] != sp.mask) p = -std::numeric_limits<double>::infinity();
          conf.push_back({p, t});
        }
        std::sort(conf.begin(), conf.end(), [](auto& a, auto& b2) {
          return a.first != b2.first ? a.first > b2.first : a.second < b2.second;
        });
        for (int64_t j = 0; j < sched[b][s]; ++j) x[b][conf[j].second] = x0[conf[j].second];
      }
    }
  }
  Prompts out(B);
  for (int64_t b = 0; b < B; ++b) out[b].assign(x[b].begin() + P, x[b].end());
  return out;
}

SpecialIds ids(int64_t V = 40) {
  SpecialIds sp;
  sp.vocab = V;
  sp.mask = int32_t(V - 1);
  sp.eos = 2;
  sp.eot = 3;
  sp.pad = 2;
  return sp;
}

GenerateOptions opts(int64_t gen, int64_t steps, int64_t block) {
  GenerateOptions o;
  o.gen_length = gen;
  o.steps = steps;
  o.block_length = block;
  return o;
}

TEST(SampleGenerate, MatchesOracleAcrossSettings) {
  const SpecialIds sp = ids();
  HashSource f(sp.vocab, sp.mask);
  const Prompts prompts = {{5, 6, 7, 8, 9}, {10, 11}, {12, 13, 14, 15, 16, 17, 18}};
  struct Case { int64_t gen, steps, block; double cfg; bool lei, cei; };
  const Case cases[] = {
      {16, 16, 16, 0, false, false}, {16, 8, 4, 0, false, false}, {12, 5, 12, 0, false, false},
      {16, 16, 8, 0.5, false, false}, {16, 16, 8, 0, true, false}, {16, 16, 8, 0, false, true},
      {24, 12, 8, 1.0, true, true},  {8, 2, 8, 0, false, false},
  };
  for (const Case& cs : cases) {
    GenerateOptions o = opts(cs.gen, cs.steps, cs.block);
    o.cfg_scale = cs.cfg;
    o.logits_eos_inf = cs.lei;
    o.confidence_eos_eot_inf = cs.cei;
    const auto got = generate(f, prompts, sp, o);
    const auto want = oracle(f, prompts, sp, o);
    EXPECT_EQ(got.tokens, want) << "gen " << cs.gen << " steps " << cs.steps << " block " << cs.block
                                << " cfg " << cs.cfg << " eos_inf " << cs.lei << " conf_inf " << cs.cei;
    for (auto& row : got.tokens)
      for (int32_t v : row) EXPECT_NE(v, sp.mask);
    if (cs.lei) {
      for (auto& row : got.tokens)
        for (int32_t v : row) EXPECT_NE(v, sp.eos);
    }
  }
}

TEST(SampleGenerate, BatchWithPaddingEqualsEachAlone) {
  const SpecialIds sp = ids();
  HashSource f(sp.vocab, sp.mask);
  const Prompts prompts = {{5, 6, 7, 8, 9}, {10}, {12, 13, 14}};
  GenerateOptions o = opts(16, 16, 8);
  o.cfg_scale = 0.7;
  const auto batch = generate(f, prompts, sp, o);
  for (size_t b = 0; b < prompts.size(); ++b)
    EXPECT_EQ(batch.tokens[b], generate(f, {prompts[b]}, sp, o).tokens[0]) << "prompt " << b;
}

TEST(SampleGenerate, AsksOnlyForTheBlocksMaskedRows) {
  const SpecialIds sp = ids();
  struct Checking : HashSource {
    using HashSource::HashSource;
    const float* logits(const LogitsQuery& q) override {
      for (int64_t i = 0; i < q.n_rows; ++i) {
        const int64_t t = q.rows[i] % q.T;
        EXPECT_GE(t, q.block_start);
        EXPECT_LT(t, q.block_end);
        EXPECT_EQ(q.ids[q.rows[i]], mask);
      }
      return HashSource::logits(q);
    }
  } f(sp.vocab, sp.mask);
  const auto r = generate(f, {{4, 5, 6}}, sp, opts(16, 16, 4));
  // One commit per step: block of 4 masks asks 4 + 3 + 2 + 1 rows, four blocks.
  EXPECT_EQ(f.rows_seen, 4 * (4 + 3 + 2 + 1));
  EXPECT_EQ(r.stats.nfe, 16);
  EXPECT_EQ(r.stats.committed, 16);
}

TEST(SampleGenerate, StepsThatCommitNothingSkipTheModel) {
  const SpecialIds sp = ids();
  HashSource f(sp.vocab, sp.mask);
  GenerateOptions o = opts(4, 8, 4);  // schedule 1,1,1,1,0,0,0,0
  const auto r = generate(f, {{4, 5}}, sp, o);
  EXPECT_EQ(r.stats.nfe, 4);
  GenerateOptions o1 = opts(4, 4, 4);
  EXPECT_EQ(r.tokens, generate(f, {{4, 5}}, sp, o1).tokens);
}

// The authors' sampler may predict the mask id: that position stays masked and is predicted again
// at a later step. The fixed-step sampler keeps this (so it stays exact); parallel decoding excludes
// the mask id, or a block could never finish.
TEST(SampleGenerate, MaskPredictionsFollowTheReference) {
  const SpecialIds sp = ids();
  HashSource f(sp.vocab, sp.mask);
  f.mask_bias = 2.5f;  // the mask id is often the argmax
  const Prompts prompts = {{5, 6, 7, 8, 9}, {10, 11}};
  int64_t masks_left = 0;
  for (int64_t block : {4, 16}) {
    GenerateOptions o = opts(16, 16, block);
    const auto got = generate(f, prompts, sp, o);
    EXPECT_EQ(got.tokens, oracle(f, prompts, sp, o)) << "block " << block;
    for (auto& row : got.tokens)
      for (int32_t v : row) masks_left += v == sp.mask;
    GenerateOptions par = o;
    par.threshold = 0.9;
    for (auto& row : generate(f, prompts, sp, par).tokens)
      for (int32_t v : row) EXPECT_NE(v, sp.mask);
  }
  EXPECT_GT(masks_left, 0) << "the test should exercise committed mask ids";
}

TEST(SampleGenerate, ThresholdAboveOneIsOneTokenPerStep) {
  const SpecialIds sp = ids();
  HashSource f(sp.vocab, sp.mask);
  const Prompts prompts = {{5, 6, 7}, {8, 9, 10, 11}};
  for (int64_t block : {4, 8, 16}) {
    GenerateOptions ref = opts(16, 16, block);
    GenerateOptions par = ref;
    par.threshold = 1.5;
    par.steps = 0;  // unused by parallel decoding
    const auto a = generate(f, prompts, sp, ref), b = generate(f, prompts, sp, par);
    EXPECT_EQ(a.tokens, b.tokens) << "block " << block;
    EXPECT_EQ(b.stats.nfe, 16);
  }
}

TEST(SampleGenerate, ThresholdAndFactorCommitSeveralPerCall) {
  const SpecialIds sp = ids(12);
  HashSource f(sp.vocab, sp.mask, 12.0f);  // peaked logits: many confident positions
  GenerateOptions o = opts(32, 0, 32);
  o.threshold = 0.5;
  const auto r = generate(f, {{4, 5}}, sp, o);
  EXPECT_LT(r.stats.nfe, 32);
  EXPECT_GT(r.stats.tokens_per_call(), 1.0);
  EXPECT_EQ(r.stats.committed, 32);
  GenerateOptions g = opts(32, 0, 32);
  g.factor = 1.0;
  const auto rf = generate(f, {{4, 5}}, sp, g);
  EXPECT_LT(rf.stats.nfe, 32);
  for (int32_t v : rf.tokens[0]) EXPECT_NE(v, sp.mask);
}

TEST(SampleGenerate, EarlyExitFillsWithEos) {
  SpecialIds sp = ids(8);
  // A source that always predicts EOS with certainty.
  struct EosSource : LogitsSource {
    int64_t V; int32_t eos;
    std::vector<float> out;
    int64_t row_width() const override { return V; }
    const float* logits(const LogitsQuery& q) override {
      out.assign(size_t(q.n_rows * V), 0.0f);
      for (int64_t i = 0; i < q.n_rows; ++i) out[i * V + eos] = 10.0f;
      return out.data();
    }
  } f;
  f.V = sp.vocab;
  f.eos = sp.eos;
  GenerateOptions o = opts(32, 32, 8);
  o.early_exit = true;
  const auto r = generate(f, {{4}}, sp, o);
  EXPECT_EQ(r.stats.nfe, 8);  // the first block only
  for (int32_t v : r.tokens[0]) EXPECT_EQ(v, sp.eos);
  EXPECT_EQ(r.stats.generated, 0);
}

TEST(SampleGenerate, InfillFillsPromptMasks) {
  const SpecialIds sp = ids();
  HashSource f(sp.vocab, sp.mask);
  GenerateOptions o = opts(8, 10, 8);
  EXPECT_THROW(generate(f, {{4, sp.mask, 6}}, sp, o), Error);
  o.infill = true;
  // With a prompt mask, the schedule counts only the block's 8 masks; the oracle (prompt index
  // excludes the mask, which competes in every step) is the reference behaviour.
  o.steps = 8;
  const auto r = generate(f, {{4, sp.mask, 6}}, sp, o);
  EXPECT_EQ(r.tokens, oracle(f, {{4, sp.mask, 6}}, sp, o));
}

TEST(SampleGenerate, SeedReproducesSampling) {
  const SpecialIds sp = ids();
  HashSource f(sp.vocab, sp.mask, 1.0f);
  GenerateOptions o = opts(16, 16, 8);
  o.temperature = 1.0;
  o.remasking = Remasking::Random;
  o.seed = 7;
  const auto a = generate(f, {{4, 5}}, sp, o), b = generate(f, {{4, 5}}, sp, o);
  EXPECT_EQ(a.tokens, b.tokens);
  o.seed = 8;
  EXPECT_NE(a.tokens, generate(f, {{4, 5}}, sp, o).tokens);
}

TEST(SampleGenerate, UnevenStepsNeedTheOption) {
  const SpecialIds sp = ids();
  HashSource f(sp.vocab, sp.mask);
  GenerateOptions o = opts(16, 7, 4);
  try {
    generate(f, {{4}}, sp, o);
    FAIL() << "expected an error";
  } catch (const OptionError& e) {
    EXPECT_EQ(e.field(), "steps") << e.what();
  }
  o.uneven_steps = true;  // blocks get 2, 2, 2, 1 steps
  const auto r = generate(f, {{4}}, sp, o);
  EXPECT_EQ(r.stats.nfe, 7);
  for (int32_t v : r.tokens[0]) EXPECT_NE(v, sp.mask);
}

// Option errors name the field at fault; the command line spells it --gen-length (the spelling
// checked here), a JSON request gen_length (what()).
TEST(SampleGenerate, BadInputNamesTheFlag) {
  const SpecialIds sp = ids();
  HashSource f(sp.vocab, sp.mask);
  auto msg = [&](const Prompts& p, GenerateOptions o, SpecialIds s) -> std::string {
    try {
      generate(f, p, s, o);
    } catch (const OptionError& e) {
      EXPECT_EQ(std::string(e.what()).find("--"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(e.field()), std::string::npos) << e.what();
      return e.spelled(flag_spelling);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(msg({{4}}, opts(0, 4, 4), sp).find("--gen-length"), std::string::npos);
  EXPECT_NE(msg({{4}}, opts(8, 8, -1), sp).find("--block-length"), std::string::npos);
  EXPECT_NE(msg({{4}}, opts(8, 8, 3), sp).find("--block-length"), std::string::npos);
  EXPECT_NE(msg({{4}}, opts(8, 0, 8), sp).find("--steps"), std::string::npos);
  EXPECT_NE(msg({{4, 400}}, opts(8, 8, 8), sp).find("vocabulary"), std::string::npos);
  EXPECT_NE(msg({{4, -1}}, opts(8, 8, 8), sp).find("vocabulary"), std::string::npos);
  EXPECT_NE(msg({{4, sp.mask}}, opts(8, 8, 8), sp).find("--infill"), std::string::npos);
  SpecialIds small = sp;
  small.max_len = 9;
  EXPECT_NE(msg({{4, 5}}, opts(8, 8, 8), small).find("max_sequence_length"), std::string::npos);
  GenerateOptions t = opts(8, 8, 8);
  t.temperature = -1;
  EXPECT_NE(msg({{4}}, t, sp).find("--temperature"), std::string::npos);
}

}  // namespace
}  // namespace llada::sample
