// The training loop end to end on a tiny model: it learns, a killed run resumes bit-identically,
// checkpoints are loadable model directories, bad data is a clear error.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"
#include "model/model.h"
#include "train/checkpoint.h"
#include "train/sft_data.h"
#include "train/run_dir.h"
#include "train/trainer.h"
#include "common/error_of.h"
#include "thread_collective.h"
#include "train_test_util.h"

using namespace llada;
using namespace llada::train;
using namespace llada::train::testing;
namespace fs = std::filesystem;

namespace {

TrainConfig tiny_config(const TempDir& dir, int64_t steps) {
  TrainConfig c;
  c.model_json = tiny_model_json();
  c.objective = Objective::Diffusion;
  c.train_data = {dir.str("train.bin")};
  c.heldout_data = {dir.str("heldout.bin")};
  c.seq_len = 24;
  c.batch_size = 8;
  c.grad_accum = 2;
  c.steps = steps;
  c.schedule.kind = "cosine";
  c.schedule.peak_lr = 3e-3;
  c.schedule.warmup_steps = 5;
  c.random_length_prob = 0.2;  // exercise the random-length path across a resume
  c.seed = 11;
  c.threads = 1;  // the suite shares 2 cores; a tiny model gains nothing from threads
  c.out = dir.str("run");
  c.checkpoint_every = 4;
  c.keep_checkpoints = 2;
  c.save_dtype = "f32";
  c.eval_every = 5;
  c.eval_batches = 2;
  c.log_every = 2;
  c.progress = false;
  return c;
}

void make_data(const TempDir& dir) {
  write_pattern_shard(dir.str("train.bin"), 400, 1);
  write_pattern_shard(dir.str("heldout.bin"), 40, 2);
}

// SFT samples "a b c SEP c b a EOS" (prompt: the first four tokens), 300 of them.
void write_reverse_sft(const std::string& path, uint64_t seed) {
  SftWriter w(path, kVocab, kEos);
  Rng rng(seed);
  for (int i = 0; i < 300; ++i) {
    std::vector<int32_t> ids;
    for (int k = 0; k < 3; ++k) ids.push_back(int32_t(rng.below(16)));
    ids.push_back(20);  // separator
    for (int k = 2; k >= 0; --k) ids.push_back(ids[size_t(k)]);
    ids.push_back(kEos);
    w.add(ids, 4);
  }
  w.finish();
}

std::string weights_bytes(const std::string& model_dir) {
  return read_file((fs::path(model_dir) / "model.safetensors").string());
}

}  // namespace

TEST(Trainer, KillAndResumeIsBitIdentical) {
  TempDir a("resume_a"), b("resume_b");
  make_data(a);
  make_data(b);
  const int64_t N = 14;
  TrainResult straight = run_training(tiny_config(a, N));
  ASSERT_EQ(straight.steps_done, N);

  // Killed after 10 steps: the checkpoint at 8 survives, steps 9-10 are lost.
  TrainConfig cb = tiny_config(b, N);
  RunOptions kill;
  kill.stop_after = 10;
  TrainResult first = run_training(cb, kill);
  EXPECT_EQ(first.steps_done, 10);
  EXPECT_TRUE(first.final_dir.empty());
  EXPECT_EQ(latest_checkpoint(cb.out), (fs::path(cb.out) / "step-8").string());
  RunOptions resume;
  resume.resume = true;
  TrainResult second = run_training(cb, resume);
  EXPECT_EQ(second.steps_done, N);
  EXPECT_EQ(weights_bytes(straight.final_dir), weights_bytes(second.final_dir));
  EXPECT_EQ(straight.last_eval_loss, second.last_eval_loss);
  // Only the newest two checkpoints are kept, and they are complete model directories.
  EXPECT_FALSE(fs::exists(fs::path(cb.out) / "step-4"));
  EXPECT_TRUE(fs::exists(fs::path(cb.out) / "step-12" / "optimizer.safetensors"));
  Model m = Model::load((fs::path(cb.out) / "step-14").string());
  EXPECT_EQ(m.cfg.d_model, 32);
  // The metrics log of the resumed run has each step once.
  std::ifstream in(fs::path(cb.out) / "metrics.jsonl");
  std::string line;
  std::vector<int64_t> steps;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) steps.push_back(j["step"].get<int64_t>());
  }
  EXPECT_EQ(steps, (std::vector<int64_t>{2, 4, 6, 8, 10, 12, 14}));
}

// Mixed precision resumes bit-identically too (master weights, moments and data state are f32 in
// the checkpoint; the bf16 rounding is a pure function of them), and it is really a different
// arithmetic: its weights differ from the f32 run's, its held-out loss stays close.
TEST(Trainer, Bf16KillAndResumeIsBitIdentical) {
  TempDir a("bf16_a"), b("bf16_b"), f("bf16_f32");
  make_data(a);
  make_data(b);
  make_data(f);
  const int64_t N = 14;
  TrainConfig ca = tiny_config(a, N);
  ca.precision = "bf16";
  TrainResult straight = run_training(ca);
  ASSERT_EQ(straight.steps_done, N);
  TrainConfig cb = tiny_config(b, N);
  cb.precision = "bf16";
  RunOptions kill;
  kill.stop_after = 10;
  run_training(cb, kill);
  RunOptions resume;
  resume.resume = true;
  TrainResult second = run_training(cb, resume);
  EXPECT_EQ(weights_bytes(straight.final_dir), weights_bytes(second.final_dir));
  EXPECT_EQ(straight.last_eval_loss, second.last_eval_loss);
  TrainResult f32 = run_training(tiny_config(f, N));
  EXPECT_NE(weights_bytes(straight.final_dir), weights_bytes(f32.final_dir));
  EXPECT_NEAR(straight.last_eval_loss, f32.last_eval_loss, 0.02 * f32.last_eval_loss);
}

TEST(Trainer, ResumeRefusesAChangedTrajectory) {
  TempDir a("resume_cfg");
  make_data(a);
  TrainConfig c = tiny_config(a, 4);
  run_training(c);
  c.batch_size = 4;
  RunOptions r;
  r.resume = true;
  try {
    run_training(c, r);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("batch_size"), std::string::npos) << e.what();
  }
}

// Runs one training on `world` ranks (threads of this process with the butterfly sum); returns
// rank 0's result and checks that the other ranks trained the same steps without writing.
TrainResult run_on_ranks(const TrainConfig& c, int world, int64_t stop_after = -1, bool resume = false) {
  ThreadWorld w(world);
  std::vector<TrainResult> results(static_cast<size_t>(world));
  std::vector<std::string> errors(static_cast<size_t>(world));
  std::vector<std::thread> threads;
  std::vector<ThreadWorld::Rank> ranks;
  for (int r = 0; r < world; ++r) ranks.push_back(w.rank(r));
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      RunOptions o;
      o.collective = &ranks[size_t(r)];
      o.stop_after = stop_after;
      o.resume = resume;
      try {
        results[size_t(r)] = run_training(c, o);
      } catch (const std::exception& e) {
        errors[size_t(r)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < world; ++r) {
    EXPECT_EQ(errors[size_t(r)], "") << "rank " << r;
    EXPECT_EQ(results[size_t(r)].steps_done, results[0].steps_done) << "rank " << r;
    if (r > 0) {
      EXPECT_TRUE(results[size_t(r)].final_dir.empty()) << "rank " << r << " wrote final/";
    }
  }
  return results[0];
}

// Data parallelism changes nothing: 1, 2 and 4 ranks over the same global batch (4 micro-batches
// per step) give bit-identical weights, because each rank forms whole micro-batch gradients and the
// sums follow one fixed pairwise tree (grad_sum.h). A run killed on 2 ranks resumes on 1 process and
// ends where the uninterrupted single-process run ends.
TEST(Trainer, DataParallelRanksGiveTheSingleProcessWeights) {
  auto config = [](const TempDir& d) {
    TrainConfig c = tiny_config(d, 8);
    c.batch_size = 4;
    c.grad_accum = 4;
    return c;
  };
  TempDir one("dp_one");
  make_data(one);
  const TrainResult single = run_training(config(one));
  const std::string want = weights_bytes(single.final_dir);
  for (int world : {2, 4}) {
    TempDir d("dp_world" + std::to_string(world));
    make_data(d);
    const TrainResult r = run_on_ranks(config(d), world);
    ASSERT_FALSE(r.final_dir.empty());
    EXPECT_EQ(weights_bytes(r.final_dir), want) << world << " ranks";
    const std::string metrics = read_file(d.str("run/metrics.jsonl"));
    EXPECT_NE(metrics.find("\"world_size\":" + std::to_string(world)), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("\"comm_s\""), std::string::npos);
  }
  TempDir k("dp_resume");
  make_data(k);
  run_on_ranks(config(k), 2, /*stop_after=*/6);  // killed after step 6: the checkpoint of step 4 remains
  RunOptions resume;
  resume.resume = true;
  const TrainResult resumed = run_training(config(k), resume);
  EXPECT_EQ(resumed.steps_done, 8);
  EXPECT_EQ(weights_bytes(resumed.final_dir), want);
}

TEST(Trainer, DataParallelNeedsWholeMicroBatchesPerRank) {
  TempDir a("dp_uneven");
  make_data(a);
  ThreadWorld w(4);
  ThreadWorld::Rank r = w.rank(0);
  RunOptions o;
  o.collective = &r;
  EXPECT_NE(test_util::error_of([&] { run_training(tiny_config(a, 2), o); })
                .find("grad_accum 2 is not a multiple of the 4 processes"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(a.str("run")));
}

TEST(Trainer, DiffusionPretrainingLowersTheHeldOutLoss) {
  TempDir a("learn_pt");
  make_data(a);
  TrainConfig c = tiny_config(a, 250);
  c.checkpoint_every = 0;
  c.eval_every = 0;
  c.random_length_prob = 0.01;
  c.schedule.peak_lr = 1e-2;
  RunOptions r;
  r.eval_at_start = true;
  c.eval_batches = 8;
  TrainResult res = run_training(c, r);
  // At initialisation every masked token costs about ln 24 = 3.18 nats (times 1/p, averaging to 1).
  EXPECT_GT(res.first_eval_loss, 2.5);
  // The same windows and masks (fixed noise) after training: a large drop, not noise.
  EXPECT_LT(res.last_eval_loss, 0.8 * res.first_eval_loss) << "first " << res.first_eval_loss;
  std::printf("held-out diffusion loss %.3f -> %.3f\n", res.first_eval_loss, res.last_eval_loss);
}

TEST(Trainer, AutoregressiveBaselineTrainsACausalModel) {
  TempDir a("learn_ar");
  make_data(a);
  TrainConfig c = tiny_config(a, 60);
  c.objective = Objective::Ar;
  c.schedule.peak_lr = 1e-2;
  c.checkpoint_every = 0;
  TrainResult res = run_training(c);
  // Next-token prediction of the pattern is deterministic except after EOS (a random start).
  EXPECT_LT(res.last_eval_loss, 0.8);
  Model m = Model::load(res.final_dir);
  EXPECT_TRUE(m.cfg.causal);
}

TEST(Trainer, CorruptedOrMissingShardIsAClearError) {
  TempDir a("bad_shard");
  make_data(a);
  TrainConfig c = tiny_config(a, 2);
  // Flip one byte in the token body: the checksum names the file.
  std::string bytes = read_file(a.str("train.bin"));
  bytes[100] ^= 0x5a;
  write_file_atomic(a.str("train.bin"), bytes);
  try {
    run_training(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.bin"), std::string::npos) << e.what();
  }
  c.train_data = {a.str("nope.bin")};
  try {
    run_training(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.bin"), std::string::npos) << e.what();
  }
}

TEST(TrainConfig, UnknownFieldsAndBadTypesNameTheField) {
  nlohmann::json j = {{"steps", 10}, {"lr", 1e-3}};
  try {
    TrainConfig::from_json(j, "cfg.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lr"), std::string::npos);
  }
  j = {{"optim", {{"weight_decay", "high"}}}};
  try {
    TrainConfig::from_json(j, "cfg.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("optim.weight_decay"), std::string::npos) << e.what();
  }
  j = {{"objective", "sft"}, {"optim", {{"betas", {0.9, 0.99}}}}, {"schedule", {{"kind", "wsd"}}}};
  TrainConfig c = TrainConfig::from_json(j, "cfg.json");
  EXPECT_EQ(c.objective, Objective::Sft);
  EXPECT_DOUBLE_EQ(c.adamw.beta2, 0.99);
  EXPECT_EQ(c.schedule.kind, "wsd");
  // Round trip.
  TrainConfig d = TrainConfig::from_json(c.to_json(), "round trip");
  EXPECT_EQ(d.to_json(), c.to_json());
}

TEST(Trainer, SftRunOnSampleFilesLearnsAndResumes) {
  TempDir a("sft_run"), b("sft_run_b");
  for (const TempDir* d : {&a, &b}) {
    for (const char* name : {"train.sft", "heldout.sft"}) write_reverse_sft(d->str(name), name[0] == 't' ? 1 : 2);
  }
  auto cfg_for = [](const TempDir& d) {
    TrainConfig c = tiny_config(d, 100);
    c.schedule.peak_lr = 1e-2;
    c.objective = Objective::Sft;
    c.train_data = {d.str("train.sft")};
    c.heldout_data = {d.str("heldout.sft")};
    c.seq_len = 10;
    c.sft_pad = "batch";
    c.checkpoint_every = 50;
    c.eval_batches = 4;
    return c;
  };
  RunOptions r;
  r.eval_at_start = true;
  TrainResult straight = run_training(cfg_for(a), r);
  EXPECT_LT(straight.last_eval_loss, 0.8 * straight.first_eval_loss);
  RunOptions kill;
  kill.stop_after = 55;
  run_training(cfg_for(b), kill);
  RunOptions resume;
  resume.resume = true;
  TrainResult resumed = run_training(cfg_for(b), resume);
  EXPECT_EQ(weights_bytes(straight.final_dir), weights_bytes(resumed.final_dir));

  // The same SFT data on a causal model: next-token loss on the responses (the AR baseline's
  // fine-tuning). Reversing three tokens that precede it is easy left to right: the loss falls far.
  TempDir c("sft_run_ar");
  for (const char* name : {"train.sft", "heldout.sft"})
    fs::copy_file(a.str(name), c.str(name));
  TrainConfig ar = cfg_for(c);
  ar.model_json["causal"] = true;
  TrainResult ar_run = run_training(ar, r);
  EXPECT_LT(ar_run.last_eval_loss, 0.5 * ar_run.first_eval_loss);
  EXPECT_TRUE(Model::load(ar_run.final_dir).cfg.causal);
}

// SFT samples mixed into pre-training (sft_mix): every second step's micro-batches are SFT batches
// (sft_mix.batch_size samples padded to the longest, the prompt never masked), the others
// pre-training windows; a killed run resumes bit-identically (the mix reader's state is in the
// checkpoint), and a resume with another mix is refused.
TEST(Trainer, SftMixAlternatesWithPretrainingAndResumes) {
  TempDir a("mix_a"), b("mix_b");
  auto cfg_for = [](const TempDir& d) {
    make_data(d);
    write_reverse_sft(d.str("mix.sft"), 1);
    TrainConfig c = tiny_config(d, 14);
    c.sft_mix_data = {d.str("mix.sft")};
    c.sft_mix_every = 2;
    c.sft_mix_batch = 6;
    return c;
  };
  RunOptions watch;
  int64_t sft_batches = 0, pre_batches = 0;
  watch.on_batch = [&](int64_t step, const TrainBatch& tb) {
    if (step % 2 == 1) {  // steps 2, 4, ... (1-based) are the mix's
      ++sft_batches;
      EXPECT_EQ(tb.B, 6);
      EXPECT_EQ(tb.T, 8);  // every sample is 8 tokens
      for (int64_t r = 0; r < tb.B; ++r)
        for (int64_t t = 0; t < 4; ++t) EXPECT_NE(tb.ids[size_t(r * tb.T + t)], kMask) << "a prompt token was masked";
    } else {
      ++pre_batches;
      EXPECT_EQ(tb.B, 8);
      EXPECT_LE(tb.T, 24);  // (random-length batches are shorter)
    }
  };
  TrainConfig ca = cfg_for(a);
  TrainResult straight = run_training(ca, watch);
  ASSERT_EQ(straight.steps_done, 14);
  EXPECT_EQ(sft_batches, 14);  // 7 steps x grad_accum 2
  EXPECT_EQ(pre_batches, 14);
  const auto recorded = nlohmann::json::parse(read_file(ca.out + "/config.json"));
  EXPECT_EQ(recorded["sft_mix"]["every"], 2);
  EXPECT_EQ(recorded["data_fingerprints"]["train"].size(), 2u);  // the shard and the mix

  TrainConfig cb = cfg_for(b);
  RunOptions kill;
  kill.stop_after = 11;  // the checkpoint at 8 survives; the resumed run redoes 9-11
  run_training(cb, kill);
  RunOptions resume;
  resume.resume = true;
  TrainConfig changed = cb;
  changed.sft_mix_every = 3;
  EXPECT_NE(test_util::error_of([&] { run_training(changed, resume); }).find("sft_mix"), std::string::npos);
  TrainResult second = run_training(cb, resume);
  EXPECT_EQ(weights_bytes(straight.final_dir), weights_bytes(second.final_dir));

  // Bad mixes are refused naming the field.
  TrainConfig bad = cfg_for(a);
  bad.objective = Objective::Sft;
  EXPECT_NE(test_util::error_of([&] { bad.validate(); }).find("sft_mix"), std::string::npos);
  bad = cfg_for(a);
  bad.sft_mix_every = 0;
  EXPECT_NE(test_util::error_of([&] { bad.validate(); }).find("sft_mix.every is 0"), std::string::npos);
  EXPECT_NE(test_util::error_of([] { TrainConfig::from_json({{"sft_mix", {{"train", "x.sft"}, {"every", "2"}}}}, "c.json"); })
                .find("sft_mix.every"),
            std::string::npos);
  EXPECT_NE(test_util::error_of([] { TrainConfig::from_json({{"sft_mix", {{"trian", "x.sft"}}}}, "c.json"); })
                .find("sft_mix.trian"),
            std::string::npos);
}
