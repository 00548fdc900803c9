// A tiny model learns a synthetic task to near-zero loss within a bounded number of steps, driven
// through the library pieces the trainer uses (SFT objective, forward/backward, clipping, AdamW).
// Task: reverse four tokens. Prompt "a b c d SEP", response "d c b a EOS" (+ EOS padding).
#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

#include "core/rng.h"
#include "core/sys.h"
#include "model/model.h"
#include "train/adamw.h"
#include "train/objective.h"
#include "train/schedule.h"
#include "train_test_util.h"

using namespace llada;
using namespace llada::train;
using namespace llada::train::testing;

namespace {
constexpr int64_t kLen = 4, kT = 11, kSep = 20;

// One batch of reverse-task samples into `buf` ([B][kT]); `samples` point into it.
void reverse_batch(Rng& rng, int64_t B, std::vector<int32_t>& buf, std::vector<SftSample>& samples) {
  buf.assign(size_t(B * kT), kEos);
  samples.resize(size_t(B));
  for (int64_t b = 0; b < B; ++b) {
    int32_t* s = buf.data() + b * kT;
    for (int64_t i = 0; i < kLen; ++i) s[i] = int32_t(rng.below(16));
    s[kLen] = kSep;
    for (int64_t i = 0; i < kLen; ++i) s[kLen + 1 + i] = s[kLen - 1 - i];
    s[2 * kLen + 1] = kEos;
    samples[size_t(b)] = {s, 2 * kLen + 2, kLen + 1};
  }
}

double sft_loss(const Model& m, const TrainBatch& tb, Workspace& ws, Weights* grads) {
  ForwardArgs a;
  a.B = tb.B;
  a.T = tb.T;
  a.ids = tb.ids.data();
  a.rows = tb.rows.data();
  a.n_rows = int64_t(tb.rows.size());
  return model_forward_backward(m, a, tb.targets.data(), tb.weights.data(), *grads, ws);
}
}  // namespace

TEST(Learn, TinyModelReversesSequencesToNearZeroLoss) {
  set_num_threads(1);
  Model m;
  nlohmann::json j = tiny_model_json();
  j["d_model"] = 64;
  j["mlp_hidden_size"] = 128;
  m.cfg = ModelConfig::from_json(j, "test");
  m.w = Weights::allocate(m.cfg, DType::F32);
  init_weights(m.w, m.cfg, 3);
  Weights grads = Weights::like(m.w, DType::F32);
  AdamWConfig ac;
  ac.weight_decay = 0.0;
  AdamW opt(m.w, ac);
  Schedule sched;
  sched.kind = "cosine";
  sched.peak_lr = 3e-3;
  sched.warmup_steps = 20;
  const int64_t steps = 500, B = 32;
  sched.total_steps = steps;
  sched.min_lr = 3e-4;
  SftOptions so;
  so.mask_id = kMask;
  so.eos_id = kEos;
  so.stratified_t = true;
  Rng data(1), noise(2);
  std::vector<int32_t> buf;
  std::vector<SftSample> samples;
  TrainBatch tb;
  Workspace ws;
  for (int64_t s = 0; s < steps; ++s) {
    reverse_batch(data, B, buf, samples);
    make_sft_batch(samples.data(), B, kT, so, noise, tb);
    zero_grads(grads);
    sft_loss(m, tb, ws, &grads);
    clip_grad_norm(grads, 1.0);
    opt.step(m.w, grads, sched.lr(s));
  }
  // Held-out: fresh sequences, fully masked answers (the hardest case, t = 1) and random t.
  Rng eval_data(99), eval_noise(100);
  double loss = 0;
  for (int k = 0; k < 4; ++k) {
    reverse_batch(eval_data, B, buf, samples);
    make_sft_batch(samples.data(), B, kT, so, eval_noise, tb);
    Weights scratch = Weights::like(m.w, DType::F32);
    loss += sft_loss(m, tb, ws, &scratch) / 4;
  }
  std::printf("reverse task: held-out SFT loss %.4f after %lld steps\n", loss, (long long)steps);
  EXPECT_LT(loss, 0.05);
}
