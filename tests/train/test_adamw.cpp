// AdamW: one step against a hand computation in double, several steps against torch.optim.AdamW.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/error.h"
#include "core/npy.h"
#include "core/rng.h"
#include "train/adamw.h"
#include "train/schedule.h"

using namespace llada;
using namespace llada::train;

TEST(AdamW, OneStepMatchesHandComputation) {
  AdamWConfig cfg;
  cfg.beta1 = 0.9, cfg.beta2 = 0.95, cfg.eps = 1e-8, cfg.weight_decay = 0.1;
  const double lr = 1e-2;
  std::vector<float> p = {0.5f, -1.0f, 2.0f, 0.0f}, g = {0.1f, -0.2f, 0.0f, 3.0f};
  std::vector<float> m(4, 0.0f), v(4, 0.0f);
  std::vector<float> p0 = p;
  adamw_update(p.data(), g.data(), m.data(), v.data(), 4, AdamWScalars::make(cfg, lr, 1, true));
  for (int i = 0; i < 4; ++i) {
    // At t=1 the bias-corrected moments are g and g^2: the step is lr*g/(|g|+eps) after decay.
    double want = double(p0[i]) * (1 - lr * 0.1) - lr * g[i] / (std::fabs(g[i]) + 1e-8);
    EXPECT_NEAR(p[i], want, 1e-6) << i;
    EXPECT_NEAR(m[i], 0.1 * g[i], 1e-7);
    EXPECT_NEAR(v[i], 0.05 * g[i] * g[i], 1e-6);
  }
  // No decay: the zero-gradient entry does not move at all.
  std::vector<float> q = p0, m2(4, 0.0f), v2(4, 0.0f);
  adamw_update(q.data(), g.data(), m2.data(), v2.data(), 4, AdamWScalars::make(cfg, lr, 1, false));
  EXPECT_EQ(q[2], p0[2]);
  EXPECT_NE(p[2], p0[2]);
}

// Weight decay by role: norms never, embeddings and the head unless decay_embeddings is off.
TEST(AdamW, DecayFollowsTheRole) {
  AdamWConfig cfg;
  AdamW on(Weights{}, cfg);
  EXPECT_FALSE(on.decays(WeightRole::Norm));
  EXPECT_TRUE(on.decays(WeightRole::Projection));
  EXPECT_TRUE(on.decays(WeightRole::OutProjection));
  EXPECT_TRUE(on.decays(WeightRole::Embedding));
  EXPECT_TRUE(on.decays(WeightRole::Head));
  cfg.decay_embeddings = false;
  AdamW off(Weights{}, cfg);
  EXPECT_FALSE(off.decays(WeightRole::Embedding));
  EXPECT_FALSE(off.decays(WeightRole::Head));
  EXPECT_TRUE(off.decays(WeightRole::Projection));
}

TEST(AdamW, TenStepsMatchTorch) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("llada_adamw_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const int64_t n = 257, steps = 10;
  Rng rng(7);
  std::vector<float> p(n), grads(size_t(n * steps));
  for (auto& x : p) x = float(rng.normal());
  for (auto& x : grads) x = float(rng.normal() * 0.1);
  write_npy_f32((dir / "p0.npy").string(), p.data(), {n});
  write_npy_f32((dir / "grads.npy").string(), grads.data(), {steps, n});
  AdamWConfig cfg;
  cfg.beta1 = 0.9, cfg.beta2 = 0.95, cfg.eps = 1e-8, cfg.weight_decay = 0.1;
  const double lr = 3e-3;
  std::string cmd = std::string(LLADA_PYTHON) + " " + LLADA_SOURCE_DIR +
                    "/tests/reference/train_adamw.py " + dir.string() + " 0.003 0.9 0.95 1e-8 0.1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::vector<float> m(n, 0.0f), v(n, 0.0f);
  for (int64_t t = 1; t <= steps; ++t)
    adamw_update(p.data(), grads.data() + (t - 1) * n, m.data(), v.data(), n,
                 AdamWScalars::make(cfg, lr, t, true));
  auto ref = read_npy((dir / "p_torch.npy").string()).as_f32();
  ASSERT_EQ(int64_t(ref.size()), n);
  for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(p[i], ref[i], 2e-6 * (1 + std::fabs(ref[i]))) << i;
  fs::remove_all(dir);
}

TEST(Schedule, CosineWarmupAndEnds) {
  Schedule s;
  s.kind = "cosine";
  s.peak_lr = 2e-4;
  s.total_steps = 1000;
  EXPECT_EQ(s.warmup(), 100);  // max(1% of 1000, 100)
  EXPECT_DOUBLE_EQ(s.lr(0), 2e-4 / 100);
  EXPECT_DOUBLE_EQ(s.lr(99), 2e-4);
  EXPECT_NEAR(s.lr(100), 2e-4, 1e-12);
  EXPECT_NEAR(s.lr(550), (2e-4 + 2e-5) / 2, 1e-12);  // halfway through the cosine
  EXPECT_NEAR(s.lr(1000), 2e-5, 1e-12);
  for (int64_t i = 100; i < 1000; ++i) EXPECT_LE(s.lr(i + 1), s.lr(i) + 1e-18);
}

TEST(Schedule, WarmupStableDecayFollowsLlada) {
  Schedule s;
  s.kind = "wsd";
  s.peak_lr = 4e-4;
  s.warmup_steps = 2000;
  s.total_steps = 23000;
  EXPECT_DOUBLE_EQ(s.lr(999), 4e-4 * 1000 / 2000);
  EXPECT_DOUBLE_EQ(s.lr(5000), 4e-4);
  EXPECT_DOUBLE_EQ(s.lr(11999), 4e-4);  // 1.2T of 2.3T tokens at the peak
  EXPECT_DOUBLE_EQ(s.lr(12001), 1e-4);
  EXPECT_DOUBLE_EQ(s.lr(19999), 1e-4);
  EXPECT_NEAR(s.lr(21500), (1e-4 + 1e-5) / 2, 1e-9);  // halfway through the final linear decay
  EXPECT_NEAR(s.lr(23000), 1e-5, 1e-12);
}

TEST(Schedule, RejectsBadValues) {
  Schedule s;
  s.kind = "linearish";
  s.total_steps = 10;
  EXPECT_THROW(s.validate(), Error);
  s.kind = "cosine";
  s.peak_lr = -1;
  EXPECT_THROW(s.validate(), Error);
}
