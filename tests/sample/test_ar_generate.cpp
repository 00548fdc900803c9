// Left-to-right decoding of causal models (sample/ar_generate.h): the KV-cached decoder equals a
// plain loop that reruns the whole growing sequence without a cache and takes the argmax; a
// left-padded batch equals each prompt alone; EOS / EoT stop a row; sampling is seeded.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "model/model.h"
#include "sample/ar_generate.h"

namespace llada::sample {
namespace {

Model causal_model(uint64_t seed) {
  Model m;
  m.cfg.d_model = 32;
  m.cfg.n_layers = 2;
  m.cfg.n_heads = 4;
  m.cfg.n_kv_heads = 2;
  m.cfg.mlp_hidden_size = 48;
  m.cfg.vocab_size = 40;
  m.cfg.embedding_size = 48;
  m.cfg.max_sequence_length = 64;
  m.cfg.mask_token_id = 39;
  m.cfg.eos_token_id = 1;
  m.cfg.pad_token_id = 1;
  m.cfg.eot_token_id = 2;
  m.cfg.causal = true;
  m.w = Weights::allocate(m.cfg, DType::F32);
  init_weights(m.w, m.cfg, seed, 0.6f);  // large weights: argmax far from float noise
  return m;
}

SpecialIds ids_of(const Model& m) {
  SpecialIds sp;
  sp.mask = int32_t(m.cfg.mask_token_id);
  sp.eos = int32_t(m.cfg.eos_token_id);
  sp.eot = int32_t(m.cfg.eot_token_id);
  sp.pad = int32_t(m.cfg.pad_token_id);
  sp.vocab = m.cfg.vocab_size;
  sp.max_len = m.cfg.max_sequence_length;
  return sp;
}

// The definition: rerun everything, take the argmax of the last position (mask id excluded),
// stop after EOS / EoT.
std::vector<int32_t> plain_greedy(const Model& m, std::vector<int32_t> seq, int64_t G, const SpecialIds& sp) {
  std::vector<int32_t> out(size_t(G), sp.eos);
  Workspace ws;
  for (int64_t s = 0; s < G; ++s) {
    ForwardArgs a;
    a.B = 1;
    a.T = int64_t(seq.size());
    a.ids = seq.data();
    a.causal = true;
    const float* l = model_forward(m, a, ws) + (a.T - 1) * m.cfg.embedding_size;
    int32_t best = 0;
    for (int32_t v = 1; v < int32_t(sp.vocab); ++v)
      if (v != sp.mask && (best == sp.mask || l[v] > l[best])) best = v;
    out[size_t(s)] = best;
    seq.push_back(best);
    if (best == sp.eos || best == sp.eot) break;
  }
  return out;
}

TEST(ArGenerate, CachedDecodingEqualsPlainRerunAndBatchingEqualsAlone) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    const Model m = causal_model(seed);
    const SpecialIds sp = ids_of(m);
    const std::vector<std::vector<int32_t>> prompts = {{5, 6, 7, 8, 9, 10, 11}, {12, 3}, {20, 21, 22, 23}};
    GenerateOptions o;
    o.gen_length = 16;
    const GenerateResult batch = generate_autoregressive(m, prompts, sp, o);
    for (size_t i = 0; i < prompts.size(); ++i) {
      const auto want = plain_greedy(m, prompts[i], o.gen_length, sp);
      EXPECT_EQ(batch.tokens[i], want) << "seed " << seed << " prompt " << i << " (batched)";
      const GenerateResult alone = generate_autoregressive(m, {prompts[i]}, sp, o);
      EXPECT_EQ(alone.tokens[0], want) << "seed " << seed << " prompt " << i << " (alone)";
    }
    GenerateOptions r = o;  // the library's own recomputing mode (the cache's benchmark baseline)
    r.ar_recompute = true;
    EXPECT_EQ(generate_autoregressive(m, prompts, sp, r).tokens, batch.tokens) << "seed " << seed;
    EXPECT_GE(batch.stats.nfe, 1);
    EXPECT_LE(batch.stats.nfe, o.gen_length);
  }
}

TEST(ArGenerate, StopsAtEosAndNeverEmitsEosWithLogitsEosInf) {
  const Model m = causal_model(4);
  SpecialIds sp = ids_of(m);
  GenerateOptions o;
  o.gen_length = 40;
  o.temperature = 1.5;  // sampling visits many tokens, EOS among them
  bool stopped = false;
  for (uint64_t seed = 0; seed < 20 && !stopped; ++seed) {
    o.seed = seed;
    const auto r = generate_autoregressive(m, {{5, 6, 7}}, sp, o);
    const auto& t = r.tokens[0];
    auto it = std::find_if(t.begin(), t.end(), [&](int32_t x) { return x == sp.eos || x == sp.eot; });
    if (it != t.end()) {
      stopped = true;
      EXPECT_TRUE(std::all_of(it + 1, t.end(), [&](int32_t x) { return x == sp.eos; }))
          << "tokens after the stop must be EOS";
    }
  }
  EXPECT_TRUE(stopped) << "no sampled run reached EOS or EoT in 40 tokens";
  o.logits_eos_inf = true;
  for (uint64_t seed = 0; seed < 5; ++seed) {
    o.seed = seed;
    const auto r = generate_autoregressive(m, {{5, 6, 7}}, sp, o);
    const auto& t = r.tokens[0];
    auto stop = std::find(t.begin(), t.end(), sp.eot);
    EXPECT_TRUE(std::find(t.begin(), stop, sp.eos) == stop) << "EOS emitted with logits_eos_inf";
  }
}

TEST(ArGenerate, SeededSamplingRepeatsAndSeedsDiffer) {
  const Model m = causal_model(5);
  const SpecialIds sp = ids_of(m);
  GenerateOptions o;
  o.gen_length = 12;
  o.temperature = 1.0;
  o.seed = 7;
  const auto a = generate_autoregressive(m, {{5, 6}}, sp, o);
  const auto b = generate_autoregressive(m, {{5, 6}}, sp, o);
  EXPECT_EQ(a.tokens, b.tokens);
  bool differs = false;
  for (uint64_t s = 8; s < 16 && !differs; ++s) {
    o.seed = s;
    differs = generate_autoregressive(m, {{5, 6}}, sp, o).tokens != a.tokens;
  }
  EXPECT_TRUE(differs);
}

TEST(ArGenerate, RejectsBadInput) {
  const Model m = causal_model(6);
  const SpecialIds sp = ids_of(m);
  GenerateOptions o;
  o.gen_length = 8;
  EXPECT_THROW(generate_autoregressive(m, {{}}, sp, o), llada::Error);
  EXPECT_THROW(generate_autoregressive(m, {{5, 99}}, sp, o), llada::Error);
  o.gen_length = 100;  // beyond max_sequence_length 64
  EXPECT_THROW(generate_autoregressive(m, {{5}}, sp, o), llada::Error);
}

}  // namespace
}  // namespace llada::sample
