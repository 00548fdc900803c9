// The training losses on a fixed batch equal the PyTorch reference: the batch (noisy ids, masks, p)
// comes from this project's objectives, the loss from tests/reference/train_loss.py, which applies
// the spec's formulas to the reference model's logits in float64.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "core/npy.h"
#include "core/rng.h"
#include "model/model.h"
#include "train/objective.h"
#include "train_test_util.h"

using namespace llada;
using namespace llada::train;
using namespace llada::train::testing;

namespace {

struct Fixture {
  TempDir dir{"train_ref"};
  Model m;
  Fixture(bool causal = false) {
    m.cfg = ModelConfig::from_json(tiny_model_json(causal), "test");
    m.w = Weights::allocate(m.cfg, DType::F32);
    init_weights(m.w, m.cfg, 5, 0.2f);  // large weights: logits far from uniform
    m.save(dir.str("model"), DType::F32);
  }
  double engine_loss(const TrainBatch& tb) {
    Weights g = Weights::like(m.w, DType::F32);
    Workspace ws;
    ForwardArgs a;
    a.B = tb.B;
    a.T = tb.T;
    a.ids = tb.ids.data();
    a.causal = tb.causal;
    a.rows = tb.rows.data();
    a.n_rows = int64_t(tb.rows.size());
    return model_forward_backward(m, a, tb.targets.data(), tb.weights.data(), g, ws);
  }
  double torch_loss(const char* kind) {
    const std::string cmd = std::string(LLADA_PYTHON) + " " + LLADA_SOURCE_DIR +
                            "/tests/reference/train_loss.py " + kind + " " + dir.str("model") + " " +
                            dir.str();
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    NpyArray a = read_npy(dir.str("loss_torch.npy"));
    return double(a.as_f32().at(0));
  }
};

std::vector<int32_t> random_tokens(int64_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = int32_t(r.below(20));
  return v;
}

}  // namespace

TEST(TrainReference, DiffusionLossEqualsPyTorch) {
  Fixture f;
  const int64_t B = 3, L = 16;
  auto clean = random_tokens(B * L, 1);
  DiffusionOptions o;
  o.mask_id = kMask;
  o.random_length_prob = 0;
  Rng rng(2);
  TrainBatch tb;
  make_diffusion_batch(clean.data(), B, L, o, rng, tb);
  ASSERT_FALSE(tb.rows.empty());
  write_npy_i32(f.dir.str("clean.npy"), clean.data(), {B, L});
  write_npy_i32(f.dir.str("noisy.npy"), tb.ids.data(), {B, L});
  write_npy_f32(f.dir.str("p.npy"), tb.p_mask.data(), {B});
  const double ours = f.engine_loss(tb), ref = f.torch_loss("diffusion");
  EXPECT_GT(ref, 1.0);
  EXPECT_NEAR(ours, ref, 2e-5 * std::fabs(ref)) << "engine " << ours << " torch " << ref;
}

TEST(TrainReference, SftLossEqualsPyTorch) {
  Fixture f;
  const int64_t B = 3, T = 14;
  auto toks = random_tokens(B * T, 3);
  std::vector<int64_t> lens = {9, 14, 5}, prompts = {4, 6, 2};
  std::vector<SftSample> s;
  for (int64_t b = 0; b < B; ++b) s.push_back({toks.data() + b * T, lens[size_t(b)], prompts[size_t(b)]});
  SftOptions o;
  o.mask_id = kMask;
  o.eos_id = kEos;
  Rng rng(4);
  TrainBatch tb;
  make_sft_batch(s.data(), B, T, o, rng, tb);
  ASSERT_FALSE(tb.rows.empty());
  // The clean rows: prompt + response + EOS padding.
  std::vector<int32_t> clean(static_cast<size_t>(B * T));
  std::vector<int32_t> plen;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) clean[size_t(b * T + t)] = t < lens[size_t(b)] ? toks[size_t(b * T + t)] : kEos;
    plen.push_back(int32_t(prompts[size_t(b)]));
  }
  write_npy_i32(f.dir.str("clean.npy"), clean.data(), {B, T});
  write_npy_i32(f.dir.str("noisy.npy"), tb.ids.data(), {B, T});
  write_npy_f32(f.dir.str("p.npy"), tb.p_mask.data(), {B});
  write_npy_i32(f.dir.str("prompt_len.npy"), plen.data(), {B});
  const double ours = f.engine_loss(tb), ref = f.torch_loss("sft");
  EXPECT_GT(ref, 0.1);
  EXPECT_NEAR(ours, ref, 2e-5 * std::fabs(ref)) << "engine " << ours << " torch " << ref;
}

TEST(TrainReference, AutoregressiveLossEqualsPyTorch) {
  Fixture f(/*causal=*/true);
  const int64_t B = 2, L = 12;
  auto clean = random_tokens(B * L, 5);
  TrainBatch tb;
  make_ar_batch(clean.data(), B, L, tb);
  write_npy_i32(f.dir.str("clean.npy"), clean.data(), {B, L});
  const double ours = f.engine_loss(tb), ref = f.torch_loss("ar");
  EXPECT_GT(ref, 1.0);
  EXPECT_NEAR(ours, ref, 2e-5 * std::fabs(ref)) << "engine " << ours << " torch " << ref;
}
